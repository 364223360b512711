//! The `env` imports: the proxy-wasm ABI 0.2.1 host calls a Rust SDK (0.2.x) module makes
//! from a network filter, with the statuses Envoy returns
//! (`proxy-wasm-cpp-host` `src/exports.cc`, Envoy `source/extensions/common/wasm/context.cc`).
//!
//! HTTP-only calls (header maps) answer `BadArgument`, as Envoy does when the map is not
//! available in the current context; a module importing anything not here fails to load
//! with the names listed (Envoy refuses such a module too).

use std::net::SocketAddr;

use wasmtime::{Caller, Linker};

use super::abi::{BufferType, LogLevel, MetricType, STREAM_TYPE_MAX, Status};
use super::guest::{copy_out, read, read_text, word, write_u32, write_u64};
use super::state::{HostState, HttpCall};

type Ctx<'a> = Caller<'a, HostState>;
type HostResult = wasmtime::Result<i32>;

/// Defines every `env` function this host provides.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    add_logging_and_time(linker)?;
    add_buffers(linker)?;
    add_properties(linker)?;
    add_shared_data(linker)?;
    add_metrics(linker)?;
    add_streams_and_calls(linker)?;
    add_header_maps(linker)?;
    add_queues(linker)?;
    add_grpc_and_foreign(linker)?;
    Ok(())
}

fn status(result: Result<(), Status>) -> i32 {
    Status::from(result).code()
}

fn add_logging_and_time(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: Ctx<'_>, level: i32, ptr: i32, len: i32| -> i32 {
            let Some(level) = LogLevel::from_code(level) else {
                return Status::BadArgument.code();
            };
            match read_text(&mut c, ptr, len) {
                Ok(message) => {
                    c.data_mut().push_log(level, message);
                    Status::Ok.code()
                }
                Err(status) => status.code(),
            }
        },
    )?;
    // Envoy's Wasm log level defaults to info; the audit line is an info line.
    linker.func_wrap("env", "proxy_get_log_level", |mut c: Ctx<'_>, ptr: i32| {
        status(write_u32(&mut c, ptr, LogLevel::Info as u32))
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Ctx<'_>, ptr: i32| {
            let now = c.data().clock.now_nanos();
            status(write_u64(&mut c, ptr, now))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: Ctx<'_>, period: i32| {
            c.data_mut().tick_period_ms = word(period);
            Status::Ok.code()
        },
    )?;
    Ok(())
}

/// A configuration buffer, readable only in the callback it belongs to.
fn buffer_bytes(state: &HostState, kind: BufferType) -> Result<&[u8], Status> {
    if state.readable_configuration != Some(kind) {
        return Err(Status::NotFound);
    }
    match kind {
        BufferType::VmConfiguration => Ok(&state.vm_configuration),
        BufferType::PluginConfiguration => Ok(&state.plugin_configuration),
        BufferType::DownstreamData | BufferType::UpstreamData | BufferType::Other => {
            Err(Status::NotFound)
        }
    }
}

fn add_buffers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Ctx<'_>,
         kind: i32,
         start: i32,
         len: i32,
         ptr_ptr: i32,
         size_ptr: i32|
         -> HostResult {
            let Some(kind) = BufferType::from_code(kind) else {
                return Ok(Status::BadArgument.code());
            };
            let (start, len) = (word(start), word(len));
            let state = c.data();
            let bytes = match kind {
                BufferType::DownstreamData | BufferType::UpstreamData => {
                    let Some(conn) = state.connections.get(&state.context()) else {
                        return Ok(Status::NotFound.code());
                    };
                    let buffer = if kind == BufferType::DownstreamData {
                        &conn.downstream
                    } else {
                        &conn.upstream
                    };
                    buffer.get(start, len).map(<[u8]>::to_vec)
                }
                _ => buffer_bytes(state, kind).and_then(|all| {
                    let mut whole = super::buffer::StreamBuffer::default();
                    whole.append(all);
                    whole.get(start, len).map(<[u8]>::to_vec)
                }),
            };
            match bytes {
                Ok(bytes) => Ok(status(copy_out(&mut c, &bytes, ptr_ptr, size_ptr)?)),
                Err(status) => Ok(status.code()),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: Ctx<'_>, kind: i32, len_ptr: i32, flags_ptr: i32| -> i32 {
            let Some(kind) = BufferType::from_code(kind) else {
                return Status::BadArgument.code();
            };
            let state = c.data();
            let len = match kind {
                BufferType::DownstreamData | BufferType::UpstreamData => {
                    match state.connections.get(&state.context()) {
                        Some(conn) if kind == BufferType::DownstreamData => conn.downstream.len(),
                        Some(conn) => conn.upstream.len(),
                        None => return Status::NotFound.code(),
                    }
                }
                _ => match buffer_bytes(state, kind) {
                    Ok(bytes) => bytes.len(),
                    Err(status) => return status.code(),
                },
            };
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            status(write_u32(&mut c, len_ptr, len).and_then(|()| write_u32(&mut c, flags_ptr, 0)))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, len: i32, data_ptr: i32, data_size: i32| -> i32 {
            let Some(kind) = BufferType::from_code(kind) else {
                return Status::BadArgument.code();
            };
            let data = match read(&mut c, data_ptr, data_size) {
                Ok(data) => data,
                Err(status) => return status.code(),
            };
            let state = c.data_mut();
            let context = state.context();
            match kind {
                BufferType::DownstreamData | BufferType::UpstreamData => {
                    let Some(conn) = state.connections.get_mut(&context) else {
                        return Status::NotFound.code();
                    };
                    let buffer = if kind == BufferType::DownstreamData {
                        &mut conn.downstream
                    } else {
                        &mut conn.upstream
                    };
                    buffer.set(word(start), word(len), &data).code()
                }
                // The configurations are read-only; other buffers do not exist here.
                _ => match buffer_bytes(state, kind) {
                    Ok(_) => Status::BadArgument.code(),
                    Err(status) => status.code(),
                },
            }
        },
    )?;
    Ok(())
}

/// A property path: segments separated by NUL (the SDK's `serialize_property_path`).
fn property(state: &HostState, path: &[u8]) -> Result<Vec<u8>, Status> {
    let segments: Vec<&[u8]> = path.split(|b| *b == 0).collect();
    let conn = state.connections.get(&state.context());
    let peer: Option<SocketAddr> = conn.map(|c| c.peer);
    let upstream: Option<SocketAddr> = conn.and_then(|c| c.upstream_peer);
    match segments.as_slice() {
        [b"source", b"address"] => peer.map(|p| p.to_string().into_bytes()),
        [b"upstream", b"address"] => upstream.map(|p| p.to_string().into_bytes()),
        // Envoy returns ports as 64-bit little-endian integers.
        [b"source", b"port"] => peer.map(|p| u64::from(p.port()).to_le_bytes().to_vec()),
        [b"plugin_root_id"] | [b"plugin_name"] => Some(b"e911".to_vec()),
        [b"plugin_vm_id"] => Some(b"e911".to_vec()),
        _ => state.properties.get(path).cloned(),
    }
    .ok_or(Status::NotFound)
}

fn add_properties(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Ctx<'_>,
         path_ptr: i32,
         path_size: i32,
         ptr_ptr: i32,
         size_ptr: i32|
         -> HostResult {
            let value = read(&mut c, path_ptr, path_size).and_then(|p| property(c.data(), &p));
            match value {
                Ok(value) => Ok(status(copy_out(&mut c, &value, ptr_ptr, size_ptr)?)),
                Err(status) => Ok(status.code()),
            }
        },
    )?;
    // Envoy keeps what a filter sets as filter state; here it is kept for later reads.
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: Ctx<'_>, path_ptr: i32, path_size: i32, value_ptr: i32, value_size: i32| -> i32 {
            let pair = read(&mut c, path_ptr, path_size)
                .and_then(|p| read(&mut c, value_ptr, value_size).map(|v| (p, v)));
            match pair {
                Ok((path, value)) => {
                    c.data_mut().properties.insert(path, value);
                    Status::Ok.code()
                }
                Err(status) => status.code(),
            }
        },
    )?;
    Ok(())
}

fn add_shared_data(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Ctx<'_>,
         key_ptr: i32,
         key_size: i32,
         ptr_ptr: i32,
         size_ptr: i32,
         cas_ptr: i32|
         -> HostResult {
            let found = read(&mut c, key_ptr, key_size).and_then(|k| c.data().shared.get(&k));
            let (value, cas) = match found {
                Ok(found) => found,
                Err(status) => return Ok(status.code()),
            };
            if let Err(status) = copy_out(&mut c, &value, ptr_ptr, size_ptr)? {
                return Ok(status.code());
            }
            Ok(status(write_u32(&mut c, cas_ptr, cas)))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Ctx<'_>,
         key_ptr: i32,
         key_size: i32,
         value_ptr: i32,
         value_size: i32,
         cas: i32|
         -> i32 {
            let pair = read(&mut c, key_ptr, key_size)
                .and_then(|k| read(&mut c, value_ptr, value_size).map(|v| (k, v)));
            match pair {
                Ok((key, value)) => c.data().shared.set(&key, &value, word(cas)).code(),
                Err(status) => status.code(),
            }
        },
    )?;
    Ok(())
}

fn add_metrics(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: Ctx<'_>, kind: i32, name_ptr: i32, name_size: i32, id_ptr: i32| -> i32 {
            let Some(kind) = MetricType::from_code(kind) else {
                return Status::BadArgument.code();
            };
            match read_text(&mut c, name_ptr, name_size) {
                Ok(name) => {
                    let id = c.data_mut().metrics.define(kind, &name);
                    status(write_u32(&mut c, id_ptr, id))
                }
                Err(status) => status.code(),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |mut c: Ctx<'_>, id: i32, offset: i64| {
            let state = c.data_mut();
            let status = state.metrics.increment(word(id), offset);
            if status == Status::Ok && state.increments.len() < super::state::MAX_LOG_LINES {
                state.increments.push(word(id));
            }
            status.code()
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |mut c: Ctx<'_>, id: i32, value: i64| {
            let value = u64::from_ne_bytes(value.to_ne_bytes());
            c.data_mut().metrics.record(word(id), value).code()
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: Ctx<'_>, id: i32, ptr: i32| match c.data().metrics.value(word(id)) {
            Ok(value) => status(write_u64(&mut c, ptr, value)),
            Err(status) => status.code(),
        },
    )?;
    Ok(())
}

fn add_streams_and_calls(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    // Resuming is a no-op here: the host delivers data again only when more arrives, and
    // forwards when the module says `Continue`.
    linker.func_wrap("env", "proxy_continue_stream", |_c: Ctx<'_>, kind: i32| {
        if (0..=STREAM_TYPE_MAX).contains(&kind) {
            Status::Ok.code()
        } else {
            Status::BadArgument.code()
        }
    })?;
    linker.func_wrap("env", "proxy_close_stream", |mut c: Ctx<'_>, kind: i32| {
        if !(0..=STREAM_TYPE_MAX).contains(&kind) {
            return Status::BadArgument.code();
        }
        let state = c.data_mut();
        let context = state.context();
        match state.connections.get_mut(&context) {
            Some(conn) => {
                conn.close_requested = true;
                Status::Ok.code()
            }
            None => Status::NotFound.code(),
        }
    })?;
    linker.func_wrap("env", "proxy_done", |mut c: Ctx<'_>| {
        c.data_mut().done_called = true;
        Status::Ok.code()
    })?;
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut c: Ctx<'_>, id: i32| {
            let id = word(id);
            let state = c.data_mut();
            if id == state.root_id || state.connections.contains_key(&id) {
                state.effective = Some(id);
                Status::Ok.code()
            } else {
                Status::BadArgument.code()
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Ctx<'_>,
         upstream_ptr: i32,
         upstream_size: i32,
         headers_ptr: i32,
         headers_size: i32,
         body_ptr: i32,
         body_size: i32,
         _trailers_ptr: i32,
         _trailers_size: i32,
         timeout: i32,
         token_ptr: i32|
         -> i32 {
            let call = read_text(&mut c, upstream_ptr, upstream_size).and_then(|upstream| {
                let headers = read(&mut c, headers_ptr, headers_size)?;
                let body = read(&mut c, body_ptr, body_size)?;
                Ok(HttpCall {
                    upstream,
                    headers: super::pairs::decode(&headers).ok_or(Status::BadArgument)?,
                    body,
                    timeout_ms: word(timeout),
                })
            });
            let call = match call {
                Ok(call) => call,
                Err(status) => return status.code(),
            };
            let state = c.data_mut();
            state.next_token = state.next_token.wrapping_add(1).max(1);
            let token = state.next_token;
            state.http_calls.push(call);
            status(write_u32(&mut c, token_ptr, token))
        },
    )?;
    Ok(())
}

fn add_header_maps(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let absent = Status::BadArgument.code();
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        move |_c: Ctx<'_>, _t: i32, _p: i32, _s: i32| absent,
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        move |_c: Ctx<'_>, _t: i32, _p: i32, _s: i32| absent,
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        move |_c: Ctx<'_>, _t: i32, _k: i32, _ks: i32, _p: i32, _s: i32| absent,
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        move |_c: Ctx<'_>, _t: i32, _k: i32, _ks: i32, _v: i32, _vs: i32| absent,
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        move |_c: Ctx<'_>, _t: i32, _k: i32, _ks: i32, _v: i32, _vs: i32| absent,
    )?;
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        move |_c: Ctx<'_>, _t: i32, _k: i32, _ks: i32| absent,
    )?;
    Ok(())
}

fn add_queues(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: Ctx<'_>, name_ptr: i32, name_size: i32, token_ptr: i32| -> i32 {
            match read(&mut c, name_ptr, name_size) {
                Ok(name) => {
                    let token = c.data_mut().queues.register(&name);
                    status(write_u32(&mut c, token_ptr, token))
                }
                Err(status) => status.code(),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: Ctx<'_>,
         _vm_ptr: i32,
         _vm_size: i32,
         name_ptr: i32,
         name_size: i32,
         token_ptr: i32|
         -> i32 {
            let token = read(&mut c, name_ptr, name_size).and_then(|n| c.data().queues.resolve(&n));
            match token {
                Ok(token) => status(write_u32(&mut c, token_ptr, token)),
                Err(status) => status.code(),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut c: Ctx<'_>, token: i32, ptr: i32, size: i32| -> i32 {
            match read(&mut c, ptr, size) {
                Ok(value) => c.data_mut().queues.enqueue(word(token), value).code(),
                Err(status) => status.code(),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: Ctx<'_>, token: i32, ptr_ptr: i32, size_ptr: i32| -> HostResult {
            match c.data_mut().queues.dequeue(word(token)) {
                Ok(value) => Ok(status(copy_out(&mut c, &value, ptr_ptr, size_ptr)?)),
                Err(status) => Ok(status.code()),
            }
        },
    )?;
    Ok(())
}

/// gRPC needs a cluster, and none is reachable from here: a call is refused as Envoy
/// refuses one to a cluster it does not know (`BadArgument`), and tokens are never valid
/// (`NotFound`). No foreign functions are registered (`NotFound`). The status of the last
/// (never made) call is 0 with no message.
fn add_grpc_and_foreign(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let refused = Status::BadArgument.code();
    let unknown = Status::NotFound.code();
    linker.func_wrap(
        "env",
        "proxy_grpc_call",
        move |_c: Ctx<'_>,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32| refused,
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_stream",
        move |_c: Ctx<'_>,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32,
              _: i32| refused,
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_send",
        move |_c: Ctx<'_>, _token: i32, _ptr: i32, _size: i32, _end: i32| unknown,
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_cancel",
        move |_c: Ctx<'_>, _token: i32| unknown,
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_close",
        move |_c: Ctx<'_>, _token: i32| unknown,
    )?;
    linker.func_wrap(
        "env",
        "proxy_call_foreign_function",
        move |_c: Ctx<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| unknown,
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_status",
        |mut c: Ctx<'_>, code_ptr: i32, ptr_ptr: i32, size_ptr: i32| -> HostResult {
            if let Err(status) = write_u32(&mut c, code_ptr, 0) {
                return Ok(status.code());
            }
            Ok(status(copy_out(&mut c, &[], ptr_ptr, size_ptr)?))
        },
    )?;
    Ok(())
}
