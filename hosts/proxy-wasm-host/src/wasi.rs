//! The few `wasi_snapshot_preview1` functions a Rust `wasm32-wasip1` module imports, as
//! Envoy provides them (`proxy-wasm-cpp-host` `src/exports.cc`): no files, no arguments,
//! no environment.
//!
//! - `fd_write` to stdout/stderr becomes log lines (info and error, as Envoy logs them);
//!   other descriptors are `EBADF`.
//! - `clock_time_get`: realtime is the module's clock (the same as
//!   `proxy_get_current_time_nanoseconds`), monotonic the time since the VM started;
//!   CPU-time clocks are `ENOTSUP`.
//! - `random_get` reads the system's randomness (`/dev/urandom`).
//! - `environ_*` and `args_*` are empty; `fd_fdstat_get` describes stdout/stderr only.
//! - `proc_exit` traps: in Envoy it fails the VM.

use std::io::Read;

use wasmtime::{Caller, Linker};

use super::abi::LogLevel;
use super::guest::{read, word, write, write_u32, write_u64};
use super::state::HostState;

type Ctx<'a> = Caller<'a, HostState>;

const MODULE: &str = "wasi_snapshot_preview1";
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EIO: i32 = 29;
const ENOSYS: i32 = 52;
const ENOTSUP: i32 = 58;

fn errno<T>(result: Result<T, super::abi::Status>) -> i32 {
    match result {
        Ok(_) => SUCCESS,
        Err(_) => EFAULT,
    }
}

/// Defines the WASI functions.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> i32 {
            let level = match fd {
                1 => LogLevel::Info,
                2 => LogLevel::Error,
                _ => return EBADF,
            };
            let Ok(list) = read(&mut c, iovs, iovs_len.saturating_mul(8)) else {
                return EFAULT;
            };
            let mut text = Vec::new();
            for iov in list.chunks_exact(8) {
                let field = |at: usize| {
                    iov.get(at..at + 4)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(0, i32::from_le_bytes)
                };
                match read(&mut c, field(0), field(4)) {
                    Ok(bytes) => text.extend_from_slice(&bytes),
                    Err(_) => return EFAULT,
                }
            }
            let written = u32::try_from(text.len()).unwrap_or(u32::MAX);
            let line = String::from_utf8_lossy(&text);
            let line = line.trim_end_matches('\n');
            if !line.is_empty() {
                c.data_mut().push_log(level, line.to_owned());
            }
            errno(write_u32(&mut c, nwritten, written))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Ctx<'_>, id: i32, _precision: i64, ptr: i32| -> i32 {
            let now = match id {
                0 => c.data().clock.now_nanos(),
                1 => u64::try_from(c.data().started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                _ => return ENOTSUP,
            };
            errno(write_u64(&mut c, ptr, now))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: Ctx<'_>, id: i32, ptr: i32| {
            if !(0..=1).contains(&id) {
                return ENOTSUP;
            }
            errno(write_u64(&mut c, ptr, 1))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "random_get",
        |mut c: Ctx<'_>, ptr: i32, len: i32| {
            let Ok(len) = usize::try_from(word(len)) else {
                return EFAULT;
            };
            let mut bytes = vec![0; len];
            let filled =
                std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
            if filled.is_err() {
                return EIO;
            }
            errno(write(&mut c, ptr, &bytes))
        },
    )?;
    for (name, count) in [("environ_sizes_get", 0), ("args_sizes_get", 0)] {
        linker.func_wrap(
            MODULE,
            name,
            move |mut c: Ctx<'_>, n_ptr: i32, size_ptr: i32| {
                errno(write_u32(&mut c, n_ptr, count).and_then(|()| write_u32(&mut c, size_ptr, 0)))
            },
        )?;
    }
    for name in ["environ_get", "args_get"] {
        linker.func_wrap(MODULE, name, |_c: Ctx<'_>, _list: i32, _buf: i32| SUCCESS)?;
    }
    linker.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: Ctx<'_>, fd: i32, ptr: i32| {
            if fd != 1 && fd != 2 {
                return EBADF;
            }
            // fs_filetype, flags and padding zero; rights: FD_WRITE (bit 6).
            let mut stat = [0u8; 24];
            stat[8] = 64;
            errno(write(&mut c, ptr, &stat))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |_c: Ctx<'_>, _: i32, _: i32, _: i32, _: i32| ENOSYS,
    )?;
    linker.func_wrap(MODULE, "fd_close", |_c: Ctx<'_>, _fd: i32| EBADF)?;
    linker.func_wrap(
        MODULE,
        "fd_seek",
        |_c: Ctx<'_>, _fd: i32, _off: i64, _whence: i32, _ptr: i32| EBADF,
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_get",
        |_c: Ctx<'_>, _fd: i32, _ptr: i32| EBADF,
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |_c: Ctx<'_>, _fd: i32, _ptr: i32, _len: i32| EBADF,
    )?;
    linker.func_wrap(MODULE, "sched_yield", |_c: Ctx<'_>| SUCCESS)?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_c: Ctx<'_>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::format_err!("the module called proc_exit({code})"))
        },
    )?;
    Ok(())
}
