//! `e911-kamailio`: the policy component inside Kamailio, as the Python extension module
//! `e911_native` that the `app_python3` glue (`hosts/kamailio/e911_kamailio.py`) imports.
//!
//! `Plugin` is one `e911_component_host::ComponentHost` per Kamailio worker (made after the fork, in
//! `child_init`: wasmtime's threads do not survive a fork): `configure` takes the bundle
//! as `bytes`, `on_message` the message as `bytes` and a few scalars, and answers a
//! `Verdict` (`src/verdict.rs`) whose fields become Python objects only when the glue
//! reads them. Crossing into the component is the Rust host's (`e911-component-host`), so
//! a message is never a Python list of ints as it was through wasmtime-py.
//!
//! The component's imports are the glue's `host` object: the callback store is its
//! `store_get`/`store_put` (Kamailio's shared htable, `src/store.rs`), `log` lines go to its
//! `log`. Notifications are in the verdict, for the glue to queue off the call path.
//!
//! Errors are Python exceptions, which the glue turns into the fail-safe route:
//! `PluginTrap` when the component trapped (the instance is replaced, the message must
//! pass unchanged), `BundleRefused` when `configure` refused a bundle (the previous one
//! stays), and whatever the host object raised.

mod bench;
mod bundle;
mod plugin;
mod store;
mod verdict;

use pyo3::prelude::*;

pyo3::create_exception!(
    e911_native,
    PluginTrap,
    pyo3::exceptions::PyException,
    "The component trapped; the instance is gone and the message must pass unchanged."
);
pyo3::create_exception!(
    e911_native,
    BundleRefused,
    pyo3::exceptions::PyException,
    "`configure` refused a bundle; the previous one stays active."
);

#[pymodule]
fn e911_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<plugin::Plugin>()?;
    m.add_class::<verdict::Verdict>()?;
    m.add("PluginTrap", m.py().get_type::<PluginTrap>())?;
    m.add("BundleRefused", m.py().get_type::<BundleRefused>())?;
    Ok(())
}
