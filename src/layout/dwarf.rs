//! Struct member offsets read from DWARF with gimli.
//!
//! A field is named `Type.member[.member...]` where `Type` is a typedef or a struct/union
//! tag, and `Type.sizeof` is the type's size. Typedefs that point at a forward declaration
//! are resolved to the complete definition of the same tag in any unit.

use crate::error::{Error, Result};
use crate::target::elf::ElfFile;
use gimli::{AttributeValue, EndianSlice, RunTimeEndian, UnitOffset};
use object::{Object, ObjectSection};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// Fields named `enum.NAME` are enumerator constants (negative ones stored two's complement).
const ENUM: &str = "enum.";

/// Most same-named typedefs we keep per wanted name.
const MAX_CANDIDATES: usize = 16;

/// A DIE: which unit, and where in it.
#[derive(Clone, Copy)]
struct Loc {
    unit: usize,
    offset: UnitOffset,
}

struct Types<'a> {
    dwarf: gimli::Dwarf<R<'a>>,
    units: Vec<gimli::Unit<R<'a>>>,
    /// First complete struct/union definition of each tag name.
    complete: HashMap<String, Loc>,
    /// Enumerator constants by name (first seen), e.g. `FRAME_SUSPENDED` → -1 as u64.
    enumerators: HashMap<String, u64>,
    /// Typedefs of the wanted names; several units may define different types under one
    /// name (a file-local `block`), so all are kept and tried in order.
    typedefs: HashMap<String, Vec<Loc>>,
}

fn gerr(e: gimli::Error) -> Error {
    Error::Target(format!("DWARF: {e}"))
}

/// Offsets of `fields` (each `Type.path`) that this file's DWARF describes. Fields it does
/// not describe are simply absent: the caller knows which ones a version needs.
pub fn extract(file: &ElfFile, fields: &[&str]) -> Result<BTreeMap<String, u64>> {
    let obj = file.parsed()?;
    // Type layouts need the DIEs, their names and each unit's line-program header (gimli
    // parses it with the unit); the rest is not decompressed (Debian's -dbg files compress
    // every section: location and range lists are a third of the work).
    use gimli::SectionId::*;
    let sections = |id: gimli::SectionId| -> std::result::Result<Cow<'_, [u8]>, gimli::Error> {
        if !matches!(
            id,
            DebugInfo
                | DebugAbbrev
                | DebugStr
                | DebugStrOffsets
                | DebugLineStr
                | DebugLine
                | DebugTypes
                | DebugAddr
        ) {
            return Ok(Cow::Borrowed(&[]));
        }
        Ok(obj
            .section_by_name(id.name())
            .and_then(|s| s.uncompressed_data().ok())
            .unwrap_or(Cow::Borrowed(&[])))
    };
    let owned = gimli::DwarfSections::load(sections).map_err(gerr)?;
    let dwarf = owned.borrow(|s| EndianSlice::new(s, RunTimeEndian::Little));
    let wanted: HashSet<&str> = fields.iter().filter_map(|f| f.split('.').next()).collect();
    let wanted_enums: HashSet<&str> = fields.iter().filter_map(|f| f.strip_prefix(ENUM)).collect();
    let types = Types::index(dwarf, &wanted, &wanted_enums)?;
    let mut out = BTreeMap::new();
    for field in fields {
        if let Some(name) = field.strip_prefix(ENUM) {
            if let Some(v) = types.enumerators.get(name) {
                out.insert(field.to_string(), *v);
            }
            continue;
        }
        let mut parts = field.split('.');
        let Some(ty) = parts.next() else { continue };
        let path: Vec<&str> = parts.collect();
        if let Some(value) = types.resolve(ty, &path)? {
            out.insert(field.to_string(), value);
        }
    }
    Ok(out)
}

impl<'a> Types<'a> {
    fn index(
        dwarf: gimli::Dwarf<R<'a>>,
        wanted: &HashSet<&str>,
        wanted_enums: &HashSet<&str>,
    ) -> Result<Types<'a>> {
        let mut units = Vec::new();
        let mut complete = HashMap::new();
        let mut typedefs = HashMap::new();
        let mut enumerators = HashMap::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next().map_err(gerr)? {
            let unit = dwarf.unit(header).map_err(gerr)?;
            let index = units.len();
            {
                let mut tree = unit.entries_tree(None).map_err(gerr)?;
                let root = tree.root().map_err(gerr)?;
                let mut children = root.children();
                while let Some(child) = children.next().map_err(gerr)? {
                    let e = child.entry();
                    let tag = e.tag();
                    if tag == gimli::DW_TAG_enumeration_type {
                        let mut values = child.children();
                        while let Some(v) = values.next().map_err(gerr)? {
                            let v = v.entry();
                            let Some(name) = die_name(&dwarf, &unit, v)? else {
                                continue;
                            };
                            if !wanted_enums.contains(name.as_str()) {
                                continue;
                            }
                            let value =
                                match v.attr_value(gimli::DW_AT_const_value).map_err(gerr)? {
                                    Some(AttributeValue::Sdata(x)) => Some(x as u64),
                                    Some(other) => other.udata_value(),
                                    None => None,
                                };
                            if let Some(value) = value {
                                enumerators.entry(name).or_insert(value);
                            }
                        }
                        continue;
                    }
                    let is_record =
                        tag == gimli::DW_TAG_structure_type || tag == gimli::DW_TAG_union_type;
                    if !is_record && tag != gimli::DW_TAG_typedef {
                        continue;
                    }
                    let Some(name) = die_name(&dwarf, &unit, e)? else {
                        continue;
                    };
                    let loc = Loc {
                        unit: index,
                        offset: e.offset(),
                    };
                    if is_record {
                        let declaration = matches!(
                            e.attr_value(gimli::DW_AT_declaration).map_err(gerr)?,
                            Some(AttributeValue::Flag(true))
                        );
                        if !declaration {
                            complete.entry(name).or_insert(loc);
                        }
                    } else if wanted.contains(name.as_str()) {
                        let all: &mut Vec<Loc> = typedefs.entry(name).or_default();
                        if all.len() < MAX_CANDIDATES {
                            all.push(loc);
                        }
                    }
                }
            }
            units.push(unit);
        }
        Ok(Types {
            dwarf,
            units,
            complete,
            typedefs,
            enumerators,
        })
    }

    fn entry(&self, loc: Loc) -> Result<gimli::DebuggingInformationEntry<'_, '_, R<'a>>> {
        self.units[loc.unit].entry(loc.offset).map_err(gerr)
    }

    /// The DIE a `DW_AT_type` points to.
    fn type_of(&self, loc: Loc) -> Result<Option<Loc>> {
        let e = self.entry(loc)?;
        Ok(match e.attr_value(gimli::DW_AT_type).map_err(gerr)? {
            Some(AttributeValue::UnitRef(offset)) => Some(Loc {
                unit: loc.unit,
                offset,
            }),
            Some(AttributeValue::DebugInfoRef(target)) => {
                self.units.iter().enumerate().find_map(|(i, u)| {
                    let start = u.header.offset().as_debug_info_offset()?;
                    let off = target.0.checked_sub(start.0)?;
                    (off < u.header.length_including_self()).then_some(Loc {
                        unit: i,
                        offset: UnitOffset(off),
                    })
                })
            }
            _ => None,
        })
    }

    /// Strip typedefs and qualifiers; swap a declaration for the complete definition.
    fn concrete(&self, mut loc: Loc) -> Result<Option<Loc>> {
        for _ in 0..32 {
            let e = self.entry(loc)?;
            let tag = e.tag();
            if tag == gimli::DW_TAG_typedef
                || tag == gimli::DW_TAG_const_type
                || tag == gimli::DW_TAG_volatile_type
            {
                match self.type_of(loc)? {
                    Some(next) => loc = next,
                    None => return Ok(None),
                }
                continue;
            }
            let declaration = matches!(
                e.attr_value(gimli::DW_AT_declaration).map_err(gerr)?,
                Some(AttributeValue::Flag(true))
            );
            if declaration {
                let name = die_name(&self.dwarf, &self.units[loc.unit], &e)?;
                return Ok(name.and_then(|n| self.complete.get(&n).copied()));
            }
            return Ok(Some(loc));
        }
        Ok(None)
    }

    /// The first definition of `ty` (tag, then typedefs) in which `path` resolves.
    fn resolve(&self, ty: &str, path: &[&str]) -> Result<Option<u64>> {
        let mut starts: Vec<Loc> = self.complete.get(ty).copied().into_iter().collect();
        for td in self.typedefs.get(ty).into_iter().flatten() {
            starts.extend(self.concrete(*td)?);
        }
        for start in starts {
            if let Some(v) = self.resolve_in(start, path)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    fn resolve_in(&self, start: Loc, path: &[&str]) -> Result<Option<u64>> {
        let mut loc = start;
        if path == ["sizeof"] {
            return udata(&self.entry(loc)?, gimli::DW_AT_byte_size);
        }
        let mut total = 0;
        for (i, name) in path.iter().enumerate() {
            let Some((offset, member)) = self.member(loc, name, 0)? else {
                return Ok(None);
            };
            total += offset;
            if i + 1 < path.len() {
                let Some(next) = self
                    .type_of(member)?
                    .map(|t| self.concrete(t))
                    .transpose()?
                    .flatten()
                else {
                    return Ok(None);
                };
                loc = next;
            }
        }
        Ok(Some(total))
    }

    /// Find member `name` in the record at `loc`, looking inside anonymous members.
    fn member(&self, loc: Loc, name: &str, depth: u32) -> Result<Option<(u64, Loc)>> {
        if depth > 8 {
            return Ok(None);
        }
        let unit = &self.units[loc.unit];
        let mut tree = unit.entries_tree(Some(loc.offset)).map_err(gerr)?;
        let root = tree.root().map_err(gerr)?;
        let mut children = root.children();
        let mut anonymous = Vec::new();
        while let Some(child) = children.next().map_err(gerr)? {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_member {
                continue;
            }
            if e.attr_value(gimli::DW_AT_bit_size).map_err(gerr)?.is_some() {
                continue; // bitfields have no byte offset of their own
            }
            let offset = udata(e, gimli::DW_AT_data_member_location)?.unwrap_or(0);
            let here = Loc {
                unit: loc.unit,
                offset: e.offset(),
            };
            match die_name(&self.dwarf, unit, e)? {
                Some(n) if n == name => return Ok(Some((offset, here))),
                Some(_) => {}
                None => anonymous.push((offset, here)),
            }
        }
        for (offset, member) in anonymous {
            if let Some(inner) = self
                .type_of(member)?
                .map(|t| self.concrete(t))
                .transpose()?
                .flatten()
                && let Some((o, l)) = self.member(inner, name, depth + 1)?
            {
                return Ok(Some((offset + o, l)));
            }
        }
        Ok(None)
    }
}

fn die_name(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
) -> Result<Option<String>> {
    let Some(value) = e.attr_value(gimli::DW_AT_name).map_err(gerr)? else {
        return Ok(None);
    };
    let s = dwarf.attr_string(unit, value).map_err(gerr)?;
    Ok(Some(String::from_utf8_lossy(s.slice()).into_owned()))
}

fn udata(
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
    at: gimli::DwAt,
) -> Result<Option<u64>> {
    Ok(e.attr_value(at)
        .map_err(gerr)?
        .and_then(|v| v.udata_value()))
}
