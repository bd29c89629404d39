//! A verifying, read-only view of flatbuffer tables.
//!
//! Every offset, length and vtable entry is checked against the buffer before it is followed,
//! and every element read is charged to a work budget proportional to the file size, so a
//! hostile file can neither crash the reader nor make it loop or allocate without bound.

use std::cell::Cell;

use super::error::{ModelError, Result};

/// The raw bytes of a flatbuffer and the remaining work budget for decoding it.
pub struct FlatBuf<'a> {
    data: &'a [u8],
    budget: Cell<u64>,
    initial_budget: u64,
}

impl<'a> FlatBuf<'a> {
    /// Wraps `data`; decoding may read at most `64 * len + 2^20` elements in total.
    pub fn new(data: &'a [u8]) -> Self {
        let budget = 64 * data.len() as u64 + (1 << 20);
        FlatBuf {
            data,
            budget: Cell::new(budget),
            initial_budget: budget,
        }
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Charges `n` units of work; fails once the budget is spent.
    pub fn charge(&self, n: u64) -> Result<()> {
        let left = self.budget.get();
        if n > left {
            return Err(ModelError::TooComplex {
                budget: self.initial_budget,
                size: self.data.len(),
            });
        }
        self.budget.set(left - n);
        Ok(())
    }

    fn slice(&self, pos: usize, len: usize, what: &str) -> Result<&'a [u8]> {
        pos.checked_add(len)
            .and_then(|end| self.data.get(pos..end))
            .ok_or_else(|| {
                ModelError::malformed(format!(
                    "{what} at byte {pos} (+{len}) runs past the end of the {}-byte file",
                    self.data.len()
                ))
            })
    }

    fn u16_at(&self, pos: usize, what: &str) -> Result<u16> {
        let b = self.slice(pos, 2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32_at(&self, pos: usize, what: &str) -> Result<u32> {
        let b = self.slice(pos, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Follows the unsigned offset stored at `pos`.
    fn follow(&self, pos: usize, what: &str) -> Result<usize> {
        let off = self.u32_at(pos, what)? as usize;
        let target = pos
            .checked_add(off)
            .filter(|t| *t < self.data.len())
            .ok_or_else(|| {
                ModelError::malformed(format!(
                    "{what}: offset {off} at byte {pos} points outside the {}-byte file",
                    self.data.len()
                ))
            })?;
        Ok(target)
    }

    /// The root table (the offset in the first four bytes).
    pub fn root(&'a self) -> Result<Table<'a>> {
        let pos = self.follow(0, "root table offset")?;
        Table::at(self, pos)
    }
}

/// A verified table: its vtable has been checked to lie inside the buffer.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    fb: &'a FlatBuf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
    object_len: usize,
}

impl<'a> Table<'a> {
    fn at(fb: &'a FlatBuf<'a>, pos: usize) -> Result<Self> {
        fb.charge(1)?;
        let raw = fb.u32_at(pos, "table")? as i32 as i64;
        let vtable = pos as i64 - raw;
        if vtable < 0 || vtable as usize >= fb.data.len() {
            return Err(ModelError::malformed(format!(
                "table at byte {pos} has its vtable outside the file"
            )));
        }
        let vtable = vtable as usize;
        let vtable_len = fb.u16_at(vtable, "vtable")? as usize;
        let object_len = fb.u16_at(vtable + 2, "vtable")? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return Err(ModelError::malformed(format!(
                "vtable at byte {vtable} has invalid length {vtable_len}"
            )));
        }
        fb.slice(vtable, vtable_len, "vtable")?;
        if object_len < 4 {
            return Err(ModelError::malformed(format!(
                "table at byte {pos} has invalid size {object_len}"
            )));
        }
        fb.slice(pos, object_len, "table")?;
        Ok(Table {
            fb,
            pos,
            vtable,
            vtable_len,
            object_len,
        })
    }

    /// Byte position of field `slot` within the buffer, or `None` when absent.
    fn field(&self, slot: usize, size: usize) -> Result<Option<usize>> {
        let voff = 4 + 2 * slot;
        if voff + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = self.fb.u16_at(self.vtable + voff, "vtable entry")? as usize;
        if off == 0 {
            return Ok(None);
        }
        if off + size > self.object_len {
            return Err(ModelError::malformed(format!(
                "field {slot} of the table at byte {} lies outside the table",
                self.pos
            )));
        }
        Ok(Some(self.pos + off))
    }

    fn scalar_bytes<const N: usize>(&self, slot: usize) -> Result<Option<[u8; N]>> {
        match self.field(slot, N)? {
            None => Ok(None),
            Some(p) => {
                let b = self.fb.slice(p, N, "scalar field")?;
                let mut out = [0u8; N];
                out.copy_from_slice(b);
                Ok(Some(out))
            }
        }
    }

    pub fn bool(&self, slot: usize, default: bool) -> Result<bool> {
        Ok(self.scalar_bytes::<1>(slot)?.map_or(default, |b| b[0] != 0))
    }
    pub fn i8(&self, slot: usize, default: i8) -> Result<i8> {
        Ok(self
            .scalar_bytes::<1>(slot)?
            .map_or(default, |b| b[0] as i8))
    }
    pub fn u8(&self, slot: usize, default: u8) -> Result<u8> {
        Ok(self.scalar_bytes::<1>(slot)?.map_or(default, |b| b[0]))
    }
    pub fn i32(&self, slot: usize, default: i32) -> Result<i32> {
        Ok(self
            .scalar_bytes::<4>(slot)?
            .map_or(default, i32::from_le_bytes))
    }
    pub fn u32(&self, slot: usize, default: u32) -> Result<u32> {
        Ok(self
            .scalar_bytes::<4>(slot)?
            .map_or(default, u32::from_le_bytes))
    }
    pub fn u64(&self, slot: usize, default: u64) -> Result<u64> {
        Ok(self
            .scalar_bytes::<8>(slot)?
            .map_or(default, u64::from_le_bytes))
    }
    pub fn f32(&self, slot: usize, default: f32) -> Result<f32> {
        Ok(self
            .scalar_bytes::<4>(slot)?
            .map_or(default, f32::from_le_bytes))
    }

    /// Position the offset field `slot` points to.
    fn offset_target(&self, slot: usize, what: &str) -> Result<Option<usize>> {
        match self.field(slot, 4)? {
            None => Ok(None),
            Some(p) => self.fb.follow(p, what).map(Some),
        }
    }

    /// A sub-table.
    pub fn table(&self, slot: usize) -> Result<Option<Table<'a>>> {
        match self.offset_target(slot, "table field")? {
            None => Ok(None),
            Some(t) => Table::at(self.fb, t).map(Some),
        }
    }

    /// A vector whose elements are `elem_size` bytes wide (4 for offsets to tables or strings).
    pub fn vector(&self, slot: usize, elem_size: usize) -> Result<Option<Vector<'a>>> {
        match self.offset_target(slot, "vector field")? {
            None => Ok(None),
            Some(t) => Vector::at(self.fb, t, elem_size).map(Some),
        }
    }

    /// A string (UTF-8 is checked; invalid bytes are replaced, never trusted).
    pub fn string(&self, slot: usize) -> Result<Option<String>> {
        match self.vector(slot, 1)? {
            None => Ok(None),
            Some(v) => Ok(Some(String::from_utf8_lossy(v.bytes()).into_owned())),
        }
    }

    /// Raw bytes of a `[ubyte]` vector.
    pub fn bytes(&self, slot: usize) -> Result<Option<&'a [u8]>> {
        Ok(self.vector(slot, 1)?.map(|v| v.bytes()))
    }

    /// A vector of scalars decoded with `decode` from each element's bytes.
    pub fn scalars<T, const N: usize>(
        &self,
        slot: usize,
        decode: fn([u8; N]) -> T,
    ) -> Result<Option<Vec<T>>> {
        match self.vector(slot, N)? {
            None => Ok(None),
            Some(v) => Ok(Some(
                v.bytes()
                    .chunks_exact(N)
                    .map(|c| {
                        let mut a = [0u8; N];
                        a.copy_from_slice(c);
                        decode(a)
                    })
                    .collect(),
            )),
        }
    }

    pub fn i32s(&self, slot: usize) -> Result<Option<Vec<i32>>> {
        self.scalars::<i32, 4>(slot, i32::from_le_bytes)
    }
    pub fn f32s(&self, slot: usize) -> Result<Option<Vec<f32>>> {
        self.scalars::<f32, 4>(slot, f32::from_le_bytes)
    }
    pub fn i64s(&self, slot: usize) -> Result<Option<Vec<i64>>> {
        self.scalars::<i64, 8>(slot, i64::from_le_bytes)
    }

    /// A vector of tables, each verified.
    pub fn tables(&self, slot: usize) -> Result<Vec<Table<'a>>> {
        match self.vector(slot, 4)? {
            None => Ok(Vec::new()),
            Some(v) => (0..v.len()).map(|i| v.table(i)).collect(),
        }
    }
}

/// A verified vector: its length prefix and all its elements lie inside the buffer.
#[derive(Clone, Copy)]
pub struct Vector<'a> {
    fb: &'a FlatBuf<'a>,
    start: usize,
    len: usize,
    elem_size: usize,
}

impl<'a> Vector<'a> {
    fn at(fb: &'a FlatBuf<'a>, pos: usize, elem_size: usize) -> Result<Self> {
        let len = fb.u32_at(pos, "vector length")? as usize;
        let bytes = len.checked_mul(elem_size).ok_or_else(|| {
            ModelError::malformed(format!("vector at byte {pos} has absurd length {len}"))
        })?;
        fb.slice(pos + 4, bytes, "vector")?;
        // Byte vectors are copied, not walked: charge them by the word.
        fb.charge(if elem_size == 1 {
            1 + len as u64 / 64
        } else {
            1 + len as u64
        })?;
        Ok(Vector {
            fb,
            start: pos + 4,
            len,
            elem_size,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> &'a [u8] {
        &self.fb.data[self.start..self.start + self.len * self.elem_size]
    }

    /// Element `i` of a vector of tables.
    pub fn table(&self, i: usize) -> Result<Table<'a>> {
        let pos = self.fb.follow(self.start + 4 * i, "vector element")?;
        Table::at(self.fb, pos)
    }
}
