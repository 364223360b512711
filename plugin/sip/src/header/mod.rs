//! Header names and typed views of header values, one file per header kind.
//!
//! Views decode on demand from the bytes of one field; a view that fails says which
//! header and where, and leaves every other view usable.

mod access_network_info;
mod content_type;
mod cseq;
mod geolocation;
mod kind;
pub(crate) mod list;
mod name_addr;
mod priority;
pub(crate) mod scalar;
mod via;

pub use access_network_info::AccessNetworkInfo;
pub use content_type::ContentType;
pub use cseq::Cseq;
pub(crate) use geolocation::cid_matches;
pub use geolocation::{Geolocation, GeolocationRouting};
pub use kind::HeaderKind;
pub use name_addr::{AddrForm, NameAddr};
pub use priority::Priority;
pub use via::{Rport, Transport, Via};
