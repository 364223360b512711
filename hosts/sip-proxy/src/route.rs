//! Where a request goes: the upstream of the verdict's route trunk (`--route-upstream
//! TRUNK=…`), else `--elin-upstream` for an `elin-gateway` route, else `--upstream`.
//! In-dialog requests follow the dialog's INVITE (by Call-ID).

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context, Result};
use e911_engine::{RouteKind, RouteReport};

use super::ProxyArgs;
use super::hop::Proto;

/// A next hop: an address and, when fixed, a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// Fixed transport, or `None` for the transport the message came on.
    pub proto: Option<Proto>,
    /// The address.
    pub addr: SocketAddr,
}

impl Upstream {
    /// `[udp:|tcp:]HOST:PORT`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (proto, rest) = match spec.split_once(':') {
            Some(("udp", rest)) => (Some(Proto::Udp), rest),
            Some(("tcp", rest)) => (Some(Proto::Tcp), rest),
            _ => (None, spec),
        };
        let addr = rest
            .to_socket_addrs()
            .with_context(|| format!("{spec}: not HOST:PORT"))?
            .next()
            .with_context(|| format!("{spec}: does not resolve"))?;
        Ok(Self { proto, addr })
    }
}

/// The routing table from the command line.
#[derive(Debug, Clone)]
pub struct Routes {
    /// `--upstream`.
    pub default: Upstream,
    elin: Option<Upstream>,
    trunks: HashMap<String, Upstream>,
    /// `--large-upstream`.
    pub large: Option<Upstream>,
    /// `--failsafe-upstream`.
    pub failsafe: Option<Upstream>,
}

impl Routes {
    /// Reads `--upstream`, `--elin-upstream`, `--route-upstream` and `--large-upstream`.
    pub fn from_args(args: &ProxyArgs) -> Result<Self> {
        let trunks = args
            .route_upstream
            .iter()
            .map(|spec| {
                let (trunk, addr) = spec.split_once('=').with_context(|| {
                    format!("--route-upstream {spec}: expected TRUNK=HOST:PORT")
                })?;
                Ok((trunk.to_owned(), Upstream::parse(addr)?))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            default: Upstream::parse(&args.upstream)?,
            elin: args
                .elin_upstream
                .as_deref()
                .map(Upstream::parse)
                .transpose()?,
            trunks,
            large: args
                .large_upstream
                .as_deref()
                .map(Upstream::parse)
                .transpose()?,
            failsafe: args
                .failsafe_upstream
                .as_deref()
                .map(Upstream::parse)
                .transpose()?,
        })
    }

    /// The upstream for a decided route (or the default without one).
    pub fn for_route(&self, route: Option<&RouteReport>) -> Upstream {
        match route {
            Some(route) => self.for_trunk(&route.trunk, route.kind),
            None => self.default,
        }
    }

    /// The upstream of a trunk: its own (`--route-upstream`), else `--elin-upstream` for
    /// an ELIN gateway, else the default.
    pub fn for_trunk(&self, trunk: &str, kind: RouteKind) -> Upstream {
        self.trunks
            .get(trunk)
            .copied()
            .or(if kind == RouteKind::ElinGateway {
                self.elin
            } else {
                None
            })
            .unwrap_or(self.default)
    }
}
