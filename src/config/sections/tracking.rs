//! `[vrrp_script]`, `[vrrp_track_process]` and `[vrrp_sync_group]`: what
//! instances track, and how they are grouped.

use std::time::Duration;

use super::super::conflict::Conflict;
use super::super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::super::ini::{Entry, Section, Title};
use super::super::keys;
use super::super::model::*;
use super::super::parse::*;
use super::super::ranges;
use super::values::*;

/// `[vrrp_sync_group]` before references are resolved.
pub(crate) struct RawSyncGroup<'a> {
    pub group: SyncGroup,
    pub title: Title<'a>,
    pub member_lines: Vec<usize>,
    /// Line of each `track_file`.
    pub track_file_lines: Vec<usize>,
    /// `track_process` lines, resolved by name later.
    pub track_processes: Vec<RawTrackProcess>,
}

/// `[vrrp_script NAME]`.
pub(crate) fn read_script(
    origin: &str,
    section: &Section<'_, '_>,
) -> Result<VrrpScript, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, keys::SCRIPT)?;
    let mut script = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout = None;
    let mut weight = 0;
    let mut rise = 1;
    let mut fall = 1;
    let mut user = None;
    let mut init_fail = false;
    for (key, entry) in reader.entries() {
        match key {
            "script" => script = Some(reader.command(entry)?),
            "init_fail" => init_fail = reader.flag(entry)?,
            "interval" => interval = reader.duration(entry, ranges::SCRIPT_TIME)?,
            "timeout" => timeout = Some(reader.duration(entry, ranges::SCRIPT_TIME)?),
            "weight" => weight = reader.int(entry, ranges::TRACK_WEIGHT)?,
            "rise" => rise = reader.int(entry, ranges::SCRIPT_RISE_FALL)?,
            "fall" => fall = reader.int(entry, ranges::SCRIPT_RISE_FALL)?,
            "user" => user = Some(reader.name(entry)?),
            _ => return Err(reader.unread(entry)),
        }
    }
    let script = script.ok_or_else(|| reader.missing("script"))?;
    Ok(VrrpScript {
        name,
        line: section.line,
        script,
        interval,
        timeout: timeout.unwrap_or(interval),
        weight,
        rise,
        fall,
        user,
        init_fail,
    })
}

/// `[vrrp_track_process NAME]`, with keepalived 2.2.7's defaults and ranges.
pub(crate) fn read_track_process_section(
    origin: &str,
    section: &Section<'_, '_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<VrrpTrackProcess, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, keys::TRACK_PROCESS)?;
    let mut process = None;
    let mut params = Vec::new();
    let mut param_match = None;
    let mut full_command = false;
    let mut quorum = None;
    let mut quorum_max = None;
    let mut weight = 0;
    let mut reverse = false;
    let mut fork_delay = None;
    let mut terminate_delay = None;
    let mut delay = None;
    for (key, entry) in reader.entries() {
        match key {
            "process" => {
                let (first, words) = process_of(&reader, entry)?;
                params = words;
                process = Some((first, entry.line));
            }
            "param_match" => param_match = Some(param_match_of(&reader, entry)?),
            "full_command" => full_command = reader.flag(entry)?,
            "quorum" => quorum = Some(reader.int(entry, ranges::PROCESS_QUORUM)?),
            "quorum_max" => quorum_max = Some(reader.int(entry, ranges::PROCESS_QUORUM_MAX)?),
            "weight" => (weight, reverse) = process_weight_of(&reader, entry)?,
            "delay" => delay = Some(reader.duration(entry, ranges::PROCESS_DELAY)?),
            "fork_delay" => fork_delay = Some(reader.duration(entry, ranges::PROCESS_DELAY)?),
            "terminate_delay" => {
                terminate_delay = Some(reader.duration(entry, ranges::PROCESS_DELAY)?)
            }
            _ => return Err(reader.unread(entry)),
        }
    }
    let (process, process_line) = process
        .filter(|(p, _)| !p.is_empty())
        .ok_or_else(|| reader.missing("process"))?;
    let (quorum, quorum_max) = quorum_bounds(&reader, quorum, quorum_max)?;
    // Arguments or param_match compare the command line (keepalived).
    let param_match = match param_match {
        Some(m) => m,
        None if !params.is_empty() => ParamMatch::Exact,
        None => ParamMatch::None,
    };
    let full_command = full_command || param_match != ParamMatch::None;
    if !full_command && process.len() > 15 {
        warnings.push(reader.warning(
            process_line,
            Some("process"),
            format!(
                "`{process}` is longer than the kernel's 15-byte process name, so it never \
                 matches; add `full_command = yes` to compare argv[0]"
            ),
        ));
    }
    Ok(VrrpTrackProcess {
        name,
        line: section.line,
        process,
        params,
        param_match,
        full_command,
        quorum,
        quorum_max,
        weight,
        reverse,
        fork_delay: fork_delay.or(delay).unwrap_or(Duration::ZERO),
        terminate_delay: terminate_delay.or(delay).unwrap_or(Duration::ZERO),
    })
}

/// `process = NAME [ARG...]`: the name and the arguments.
fn process_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<(PathText, Vec<String>), ConfigError> {
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let mut first = PathText::new();
    first
        .push_str(words.next().unwrap_or(""))
        .map_err(|_| reader.bad(entry, "longer than limits::MAX_PATH_LEN"))?;
    if text.len() > crate::limits::MAX_PATH_LEN {
        return Err(reader.bad(entry, "longer than limits::MAX_PATH_LEN"));
    }
    Ok((first, words.map(str::to_owned).collect()))
}

/// `param_match = exact | partial | initial`.
fn param_match_of(reader: &Reader<'_, '_>, entry: &Entry<'_>) -> Result<ParamMatch, ConfigError> {
    reader.word(
        entry,
        &[
            ("exact", ParamMatch::Exact),
            ("partial", ParamMatch::Partial),
            ("initial", ParamMatch::Initial),
        ],
    )
}

/// A `[vrrp_track_process]`'s `weight = N [reverse]`.
fn process_weight_of(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
) -> Result<(i32, bool), ConfigError> {
    let form = || ranges::around("must be `N [reverse]`, N in ", &ranges::TRACK_WEIGHT, "");
    let text = reader.text(entry)?;
    let mut words = text.split_whitespace();
    let weight = match words.next().map(str::parse::<i32>) {
        Some(Ok(w)) if ranges::TRACK_WEIGHT.contains(&w) => w,
        _ => return Err(reader.bad(entry, form())),
    };
    let reverse = match (words.next(), words.next()) {
        (None, _) => false,
        (Some("reverse"), None) => true,
        _ => return Err(reader.bad(entry, form())),
    };
    Ok((weight, reverse))
}

/// `quorum` and `quorum_max` with keepalived's defaults: `quorum_max 0`
/// alone means "no such process" (quorum 0); quorum may not exceed the max.
fn quorum_bounds(
    reader: &Reader<'_, '_>,
    quorum: Option<u32>,
    quorum_max: Option<u32>,
) -> Result<(u32, u32), ConfigError> {
    let (quorum, quorum_max) = match (quorum, quorum_max) {
        (None, Some(0)) => (0, 0),
        (q, m) => (q.unwrap_or(1), m.unwrap_or(u32::MAX)),
    };
    if quorum > quorum_max {
        return Err(reader.error_at(
            reader.line_of("quorum"),
            Some("quorum"),
            ConfigErrorKind::Conflict(Conflict::QuorumAboveMax { quorum, quorum_max }),
        ));
    }
    Ok((quorum, quorum_max))
}

/// One `group = NAME...` line: instance names, none listed twice, at most
/// MAX_SYNC_GROUP_MEMBERS in all; each member's line goes to `lines`.
fn push_group_members<const N: usize>(
    reader: &Reader<'_, '_>,
    entry: &Entry<'_>,
    members: &mut heapless::Vec<Name, N>,
    lines: &mut Vec<usize>,
) -> Result<(), ConfigError> {
    for word in reader.text(entry)?.split_whitespace() {
        let member = to_name(word)
            .ok_or_else(|| reader.bad(entry, "must be instance names separated by spaces"))?;
        if members.contains(&member) {
            return Err(reader.bad(entry, format!("{word} listed twice")));
        }
        push_capped(reader, entry, members, member, "MAX_SYNC_GROUP_MEMBERS")?;
        lines.push(entry.line);
    }
    Ok(())
}

/// `[vrrp_sync_group NAME]`.
pub(crate) fn read_sync_group<'a>(
    origin: &str,
    section: &Section<'_, 'a>,
) -> Result<RawSyncGroup<'a>, ConfigError> {
    let name = simple_name(origin, section)?;
    let reader = Reader::new(origin, section, keys::SYNC_GROUP)?;
    let mut members = heapless::Vec::new();
    let mut member_lines = Vec::new();
    let mut notify = Notify::default();
    let mut track_files = heapless::Vec::new();
    let mut track_file_lines = Vec::new();
    let mut track_processes = Vec::new();
    for (key, entry) in reader.entries() {
        if notify_key(&reader, &mut notify, key, entry)? {
            continue;
        }
        match key {
            "track_process" => {
                track_processes.push(read_track_process(&reader, entry, track_processes.len())?)
            }
            "track_file" => {
                let item = read_track_file(&reader, entry)?;
                push_capped(
                    &reader,
                    entry,
                    &mut track_files,
                    item,
                    "MAX_TRACKS_PER_INSTANCE",
                )?;
                track_file_lines.push(entry.line);
            }
            "group" => push_group_members(&reader, entry, &mut members, &mut member_lines)?,
            _ => return Err(reader.unread(entry)),
        }
    }
    if members.is_empty() {
        return Err(reader.missing("group"));
    }
    Ok(RawSyncGroup {
        group: SyncGroup {
            name,
            line: section.line,
            members,
            member_indices: heapless::Vec::new(),
            track_files,
            track_processes: heapless::Vec::new(),
            notify,
        },
        title: reader.title,
        member_lines,
        track_file_lines,
        track_processes,
    })
}
