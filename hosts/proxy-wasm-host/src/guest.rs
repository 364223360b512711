//! Reading and writing the module's linear memory from a host call (wasm32: pointers and
//! sizes are `u32`, passed as `i32`).
//!
//! Data the host returns is copied into memory the module allocates itself, through its
//! exported `malloc` or `proxy_on_memory_allocate` (what `proxy-wasm-cpp-host`'s
//! `copyToPointerSize` does); the module owns and frees it.

use wasmtime::{Caller, Extern, Memory};

use super::abi::Status;
use super::state::HostState;

/// A wasm32 pointer or size as the host sees it.
pub fn word(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

fn memory(caller: &mut Caller<'_, HostState>) -> Result<Memory, Status> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or(Status::InvalidMemoryAccess)
}

/// `len` bytes at `ptr`.
pub fn read(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    let memory = memory(caller)?;
    let start = usize::try_from(word(ptr)).map_err(|_| Status::InvalidMemoryAccess)?;
    let len = usize::try_from(word(len)).map_err(|_| Status::InvalidMemoryAccess)?;
    let end = start.checked_add(len).ok_or(Status::InvalidMemoryAccess)?;
    memory
        .data(&*caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Status::InvalidMemoryAccess)
}

/// `len` bytes at `ptr` as text (lossy: a log line with a stray byte is still a line).
pub fn read_text(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Result<String, Status> {
    read(caller, ptr, len).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes `bytes` at `ptr`.
pub fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let memory = memory(caller)?;
    let start = usize::try_from(word(ptr)).map_err(|_| Status::InvalidMemoryAccess)?;
    let end = start
        .checked_add(bytes.len())
        .ok_or(Status::InvalidMemoryAccess)?;
    memory
        .data_mut(&mut *caller)
        .get_mut(start..end)
        .ok_or(Status::InvalidMemoryAccess)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian `u32` at `ptr`.
pub fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> Result<(), Status> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr`.
pub fn write_u64(caller: &mut Caller<'_, HostState>, ptr: i32, value: u64) -> Result<(), Status> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Copies `data` into a fresh allocation of the module's and writes its address and size
/// at `ptr_ptr` and `size_ptr`; empty data writes 0 and 0 without allocating. A trap in
/// the module's allocator is the module's trap (`Err` outside); a pointer the host cannot
/// write to is a status.
pub fn copy_out(
    caller: &mut Caller<'_, HostState>,
    data: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<Result<(), Status>> {
    let Ok(size) = i32::try_from(data.len()) else {
        return Ok(Err(Status::InvalidMemoryAccess));
    };
    let address = if data.is_empty() {
        0
    } else {
        let Some(alloc) = caller
            .get_export("malloc")
            .or_else(|| caller.get_export("proxy_on_memory_allocate"))
            .and_then(Extern::into_func)
        else {
            return Ok(Err(Status::InvalidMemoryAccess));
        };
        let address = alloc
            .typed::<i32, i32>(&*caller)?
            .call(&mut *caller, size)?;
        if address == 0 {
            return Ok(Err(Status::InvalidMemoryAccess));
        }
        if let Err(status) = write(caller, address, data) {
            return Ok(Err(status));
        }
        address
    };
    Ok(write_u32(caller, ptr_ptr, word(address))
        .and_then(|()| write_u32(caller, size_ptr, word(size))))
}
