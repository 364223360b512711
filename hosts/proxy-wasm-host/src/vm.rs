//! One proxy-wasm VM with its root context, driven the way Envoy drives a network filter
//! (`proxy-wasm-cpp-host` `src/wasm.cc` and `src/context.cc`):
//!
//! 1. instantiate; `_initialize` (WASI reactor) then `main(0, 0)` if exported, or
//!    `_start` (WASI command);
//! 2. root context: `proxy_on_context_create(root, 0)`, `proxy_on_vm_start(root,
//!    vm_configuration_size)`, `proxy_on_configure(root, plugin_configuration_size)` —
//!    either answering 0 fails the start, as it fails the filter in Envoy;
//! 3. per connection: `proxy_on_context_create(id, root)`, `proxy_on_new_connection`,
//!    `proxy_on_downstream_data` / `proxy_on_upstream_data` with the size of everything
//!    buffered (see [`super::buffer`] for what the module may do to it), then
//!    `proxy_on_downstream_connection_close`, `proxy_on_done`, `proxy_on_delete`.
//!
//! A trap ends the VM, as it does in Envoy: every later call answers with the trap.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use wasmtime::{Instance, Store, StoreLimitsBuilder, TypedFunc};

use super::abi::{Action, BufferType, LogLevel, PEER_REMOTE};
use super::metrics::Metrics;
use super::runtime::{HostError, ProxyWasmRuntime, describe, ticks};
use super::shared_data::SharedData;
use super::state::{Clock, Connection, HostState, HttpCall, LogLine};

/// What a VM starts with.
#[derive(Debug, Clone)]
pub struct VmSettings {
    /// The filter's `configuration` (`PluginConfiguration`).
    pub plugin_configuration: Vec<u8>,
    /// `vm_config.configuration` (`VmConfiguration`).
    pub vm_configuration: Vec<u8>,
    /// The shared data of this VM id (clones share it).
    pub shared: SharedData,
    /// The module's clock.
    pub clock: Clock,
    /// Log lines from this level up are also written to stderr (`None`: none).
    pub echo: Option<LogLevel>,
}

/// The answer to one delivery of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// What the module answered.
    pub action: Action,
    /// The bytes that left (the whole buffer on `Continue`, nothing on `Pause`).
    pub forwarded: Vec<u8>,
}

/// Which way data flows on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client.
    Downstream,
    /// From the upstream.
    Upstream,
}

/// The exports the host calls; a module may leave out any but the context creation.
struct Exports {
    on_context_create: TypedFunc<(i32, i32), ()>,
    on_vm_start: Option<TypedFunc<(i32, i32), i32>>,
    on_configure: Option<TypedFunc<(i32, i32), i32>>,
    on_new_connection: Option<TypedFunc<i32, i32>>,
    on_downstream_data: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_upstream_data: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_downstream_close: Option<TypedFunc<(i32, i32), ()>>,
    on_done: Option<TypedFunc<i32, i32>>,
    on_delete: Option<TypedFunc<i32, ()>>,
    on_tick: Option<TypedFunc<i32, ()>>,
}

impl Exports {
    fn find(instance: &Instance, store: &mut Store<HostState>) -> Result<Self, HostError> {
        let on_context_create = instance
            .get_typed_func(&mut *store, "proxy_on_context_create")
            .map_err(|err| {
                HostError::Load(format!(
                    "not a proxy-wasm module: proxy_on_context_create: {err:#}"
                ))
            })?;
        Ok(Self {
            on_context_create,
            on_vm_start: instance
                .get_typed_func(&mut *store, "proxy_on_vm_start")
                .ok(),
            on_configure: instance
                .get_typed_func(&mut *store, "proxy_on_configure")
                .ok(),
            on_new_connection: instance
                .get_typed_func(&mut *store, "proxy_on_new_connection")
                .ok(),
            on_downstream_data: instance
                .get_typed_func(&mut *store, "proxy_on_downstream_data")
                .ok(),
            on_upstream_data: instance
                .get_typed_func(&mut *store, "proxy_on_upstream_data")
                .ok(),
            on_downstream_close: instance
                .get_typed_func(&mut *store, "proxy_on_downstream_connection_close")
                .ok(),
            on_done: instance.get_typed_func(&mut *store, "proxy_on_done").ok(),
            on_delete: instance.get_typed_func(&mut *store, "proxy_on_delete").ok(),
            on_tick: instance.get_typed_func(&mut *store, "proxy_on_tick").ok(),
        })
    }
}

/// The root context's id (Envoy numbers contexts from 1).
const ROOT_ID: u32 = 1;

/// A started, configured VM.
pub struct ProxyWasmVm {
    store: Store<HostState>,
    exports: Exports,
    /// The time limit of the next call: the configure deadline while starting, the call
    /// deadline after.
    deadline: Duration,
    call_deadline: Duration,
    next_id: u32,
    /// Set by the first trap; the VM is dead from then on.
    trapped: Option<String>,
}

impl ProxyWasmVm {
    /// Instantiates the module and runs the start sequence; a start or configure step that
    /// answers 0 (or traps) is an error carrying the module's last error log lines.
    pub fn start(runtime: &ProxyWasmRuntime, settings: VmSettings) -> Result<Self, HostError> {
        let limits = runtime.limits();
        let state = HostState {
            plugin_configuration: settings.plugin_configuration,
            vm_configuration: settings.vm_configuration,
            readable_configuration: None,
            clock: settings.clock,
            started: Instant::now(),
            shared: settings.shared,
            metrics: Metrics::default(),
            increments: Vec::new(),
            log: Vec::new(),
            log_dropped: 0,
            echo: settings.echo,
            tick_period_ms: 0,
            http_calls: Vec::new(),
            next_token: 0,
            properties: Default::default(),
            queues: Default::default(),
            connections: Default::default(),
            root_id: ROOT_ID,
            current: ROOT_ID,
            effective: None,
            done_called: false,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(runtime.engine(), state);
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(limits.configure_deadline));
        let instance = runtime
            .pre()
            .instantiate(&mut store)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        let exports = Exports::find(&instance, &mut store)?;
        let mut vm = Self {
            store,
            exports,
            deadline: limits.configure_deadline,
            call_deadline: limits.call_deadline,
            next_id: ROOT_ID + 1,
            trapped: None,
        };
        vm.initialize(&instance).map_err(HostError::Trap)?;
        vm.start_root()?;
        vm.deadline = vm.call_deadline;
        Ok(vm)
    }

    fn initialize(&mut self, instance: &Instance) -> Result<(), String> {
        let store = &mut self.store;
        if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
            init.call(&mut *store, ()).map_err(|e| describe(&e))?;
            if let Ok(main) = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "main") {
                main.call(&mut *store, (0, 0)).map_err(|e| describe(&e))?;
            }
        } else if let Ok(start) = instance.get_typed_func::<(), ()>(&mut *store, "_start") {
            start.call(&mut *store, ()).map_err(|e| describe(&e))?;
        }
        Ok(())
    }

    fn start_root(&mut self) -> Result<(), HostError> {
        let root = i32_id(ROOT_ID);
        let create = self.exports.on_context_create.clone();
        self.call(ROOT_ID, |store| create.call(store, (root, 0)))
            .map_err(HostError::Trap)?;
        let steps = [
            (
                "proxy_on_vm_start",
                self.exports.on_vm_start.clone(),
                BufferType::VmConfiguration,
            ),
            (
                "proxy_on_configure",
                self.exports.on_configure.clone(),
                BufferType::PluginConfiguration,
            ),
        ];
        for (name, export, buffer) in steps {
            let Some(export) = export else { continue };
            let size = match buffer {
                BufferType::VmConfiguration => self.store.data().vm_configuration.len(),
                _ => self.store.data().plugin_configuration.len(),
            };
            let size = i32::try_from(size).unwrap_or(i32::MAX);
            self.store.data_mut().readable_configuration = Some(buffer);
            let answer = self.call(ROOT_ID, |store| export.call(store, (root, size)));
            self.store.data_mut().readable_configuration = None;
            match answer {
                Ok(0) => {
                    return Err(HostError::Refused(format!(
                        "{name} answered false{}",
                        self.last_errors()
                    )));
                }
                Ok(_) => {}
                Err(trap) => return Err(HostError::Trap(trap)),
            }
        }
        Ok(())
    }

    /// The module's error lines so far, as `: a; b` (empty when there are none).
    fn last_errors(&self) -> String {
        let errors: Vec<&str> = self
            .store
            .data()
            .log
            .iter()
            .filter(|l| l.level >= LogLevel::Warn)
            .map(|l| l.message.as_str())
            .collect();
        if errors.is_empty() {
            String::new()
        } else {
            format!(": {}", errors.join("; "))
        }
    }

    /// One call into the module on behalf of context `id`, under the call deadline.
    fn call<R>(
        &mut self,
        id: u32,
        f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, String> {
        if let Some(trap) = &self.trapped {
            return Err(format!("the VM is dead after an earlier trap: {trap}"));
        }
        let state = self.store.data_mut();
        state.current = id;
        state.effective = None;
        self.store.set_epoch_deadline(ticks(self.deadline));
        let result = f(&mut self.store).map_err(|err| describe(&err));
        if let Err(trap) = &result {
            self.trapped = Some(trap.clone());
        }
        result
    }

    /// A new connection from `peer`: its context id.
    pub fn connect(&mut self, peer: SocketAddr) -> Result<u32, String> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(ROOT_ID + 1);
        self.store.data_mut().connections.insert(
            id,
            Connection {
                peer,
                upstream_peer: None,
                downstream: Default::default(),
                upstream: Default::default(),
                close_requested: false,
            },
        );
        let (create, new_connection) = (
            self.exports.on_context_create.clone(),
            self.exports.on_new_connection.clone(),
        );
        self.call(id, |store| {
            create.call(store, (i32_id(id), i32_id(ROOT_ID)))
        })?;
        if let Some(new_connection) = new_connection {
            self.call(id, |store| new_connection.call(store, i32_id(id)))?;
        }
        Ok(id)
    }

    /// The upstream host connection `id` reached (what `tcp_proxy` connected to).
    pub fn set_upstream(&mut self, id: u32, upstream: SocketAddr) {
        if let Some(conn) = self.store.data_mut().connections.get_mut(&id) {
            conn.upstream_peer = Some(upstream);
        }
    }

    /// Data arriving on connection `id`: appended to what is buffered, the module called
    /// with the whole size, and the buffer forwarded and drained on `Continue`.
    pub fn deliver(
        &mut self,
        id: u32,
        direction: Direction,
        data: &[u8],
        end_of_stream: bool,
    ) -> Result<Delivery, String> {
        let Some(conn) = self.store.data_mut().connections.get_mut(&id) else {
            return Err(format!("no connection {id}"));
        };
        let buffer = match direction {
            Direction::Downstream => &mut conn.downstream,
            Direction::Upstream => &mut conn.upstream,
        };
        buffer.append(data);
        let size = i32::try_from(buffer.len()).unwrap_or(i32::MAX);
        let export = match direction {
            Direction::Downstream => self.exports.on_downstream_data.clone(),
            Direction::Upstream => self.exports.on_upstream_data.clone(),
        };
        let action = match export {
            Some(export) => Action::from_code(self.call(id, |store| {
                export.call(store, (i32_id(id), size, i32::from(end_of_stream)))
            })?),
            None => Action::Continue,
        };
        let forwarded = match (action, self.store.data_mut().connections.get_mut(&id)) {
            (Action::Continue, Some(conn)) => match direction {
                Direction::Downstream => conn.downstream.drain(),
                Direction::Upstream => conn.upstream.drain(),
            },
            _ => Vec::new(),
        };
        Ok(Delivery { action, forwarded })
    }

    /// The client closed connection `id`: close, done, delete. Whatever the module still
    /// held buffered is dropped with the connection, as in Envoy.
    pub fn close(&mut self, id: u32) -> Result<(), String> {
        let result = self.end_context(id);
        self.store.data_mut().connections.remove(&id);
        result
    }

    fn end_context(&mut self, id: u32) -> Result<(), String> {
        let raw = i32_id(id);
        if let Some(close) = self.exports.on_downstream_close.clone() {
            self.call(id, |store| close.call(store, (raw, PEER_REMOTE)))?;
        }
        if let Some(done) = self.exports.on_done.clone() {
            self.call(id, |store| done.call(store, raw))?;
        }
        if let Some(delete) = self.exports.on_delete.clone() {
            self.call(id, |store| delete.call(store, raw))?;
        }
        Ok(())
    }

    /// One timer tick on the root context (Envoy calls it every tick period).
    pub fn tick(&mut self) -> Result<(), String> {
        match self.exports.on_tick.clone() {
            Some(tick) => self.call(ROOT_ID, |store| tick.call(store, i32_id(ROOT_ID))),
            None => Ok(()),
        }
    }

    /// Sets the module's clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.store.data_mut().clock = clock;
    }

    /// The log lines since the last call, and how many were dropped over the bound.
    pub fn take_log(&mut self) -> (Vec<LogLine>, u64) {
        let state = self.store.data_mut();
        (
            std::mem::take(&mut state.log),
            std::mem::take(&mut state.log_dropped),
        )
    }

    /// The names of the counters the module incremented since the last call, once per
    /// increment, in order.
    pub fn take_increments(&mut self) -> Vec<String> {
        let state = self.store.data_mut();
        let ids = std::mem::take(&mut state.increments);
        ids.iter()
            .filter_map(|id| state.metrics.all().get(usize::try_from(*id).ok()?))
            .map(|m| m.name.clone())
            .collect()
    }

    /// The HTTP calls the module made since the last call.
    pub fn take_http_calls(&mut self) -> Vec<HttpCall> {
        std::mem::take(&mut self.store.data_mut().http_calls)
    }

    /// The metrics the module defined.
    pub fn metrics(&self) -> &Metrics {
        &self.store.data().metrics
    }

    /// The shared data the module sees.
    pub fn shared(&self) -> &SharedData {
        &self.store.data().shared
    }

    /// The tick period the module asked for, in milliseconds (0: none).
    pub fn tick_period_ms(&self) -> u32 {
        self.store.data().tick_period_ms
    }

    /// The first trap, if the VM is dead.
    pub fn trapped(&self) -> Option<&str> {
        self.trapped.as_deref()
    }

    /// Whether the module asked to close connection `id`.
    pub fn close_requested(&self, id: u32) -> bool {
        self.store
            .data()
            .connections
            .get(&id)
            .is_some_and(|c| c.close_requested)
    }
}

fn i32_id(id: u32) -> i32 {
    i32::from_ne_bytes(id.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use e911_component_host::HostLimits;

    use super::*;

    /// A module in the binary format, section by section: `proxy_on_downstream_data`
    /// answers `StopIteration` (1) while fewer than 10 bytes are buffered, else
    /// `Continue`; a context is created with nothing to do; allocation is never needed.
    fn pause_under_ten_bytes() -> Vec<u8> {
        fn section(id: u8, content: &[u8]) -> Vec<u8> {
            let mut s = vec![id, u8::try_from(content.len()).unwrap()];
            s.extend_from_slice(content);
            s
        }
        fn export(name: &str, kind: u8, index: u8) -> Vec<u8> {
            let mut e = vec![u8::try_from(name.len()).unwrap()];
            e.extend_from_slice(name.as_bytes());
            e.extend_from_slice(&[kind, index]);
            e
        }
        let (i32t, func) = (0x7f, 0x60);
        let types = [
            vec![3],
            vec![func, 2, i32t, i32t, 0],
            vec![func, 1, i32t, 1, i32t],
            vec![func, 3, i32t, i32t, i32t, 1, i32t],
        ]
        .concat();
        let exports = [
            vec![4],
            export("memory", 2, 0),
            export("proxy_on_context_create", 0, 0),
            export("proxy_on_memory_allocate", 0, 1),
            export("proxy_on_downstream_data", 0, 2),
        ]
        .concat();
        let code = [
            vec![3],
            vec![2, 0, 0x0b],                          // (nothing)
            vec![5, 0, 0x41, 0x80, 0x08, 0x0b],        // i32.const 1024
            vec![7, 0, 0x20, 1, 0x41, 10, 0x49, 0x0b], // size < 10 (i32.lt_u)
        ]
        .concat();
        [
            b"\0asm\x01\0\0\0".to_vec(),
            section(1, &types),
            section(3, &[3, 0, 1, 2]),
            section(5, &[1, 0, 1]),
            section(7, &exports),
            section(10, &code),
        ]
        .concat()
    }

    #[test]
    fn stop_iteration_keeps_the_buffer_and_the_next_read_is_appended() {
        let cache = std::env::temp_dir().join(format!("e911-vm-test-{}", std::process::id()));
        let runtime = ProxyWasmRuntime::from_bytes(
            &pause_under_ten_bytes(),
            Some(&cache),
            HostLimits::default(),
        )
        .unwrap();
        let settings = VmSettings {
            plugin_configuration: Vec::new(),
            vm_configuration: Vec::new(),
            shared: SharedData::default(),
            clock: Clock::System,
            echo: None,
        };
        let mut vm = ProxyWasmVm::start(&runtime, settings).unwrap();
        let id = vm.connect("192.0.2.1:5060".parse().unwrap()).unwrap();
        let mut deliver = |data: &[u8]| vm.deliver(id, Direction::Downstream, data, false).unwrap();
        let paused = Delivery {
            action: Action::Pause,
            forwarded: Vec::new(),
        };
        assert_eq!(deliver(b"abcd"), paused);
        assert_eq!(deliver(b"efgh"), paused, "8 bytes buffered");
        let all = deliver(b"ijkl");
        assert_eq!(all.action, Action::Continue, "12 bytes buffered");
        assert_eq!(all.forwarded, b"abcdefghijkl");
        assert_eq!(deliver(b"m"), paused, "the buffer was drained");
        vm.close(id).unwrap();
        let _ = std::fs::remove_dir_all(&cache);
    }
}
