//! One VRRP instance as a pure state machine (INIT, BACKUP, MASTER, FAULT): adverts and time in, actions out.
//!
//! Rules come from RFC 3768 (v2), RFC 5798 / RFC 9568 (v3) and keepalived 2.2.7 as
//! written down in BEHAVIOUR.md. The instance never reads a clock: every entry
//! point takes `now`, [`Instance::poll_at`] says when to call
//! [`Instance::handle_timeout`] next, and [`Instance::poll_action`] drains what
//! the daemon must do (send an advert, add/remove VIPs, send GARPs, notify).

use core::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::limits::{MAX_ADVERT_VIPS, MAX_UNICAST_PEERS, VRRP_NOTIFY_BACKLOG};
use crate::vrrp::receive::Expectation;
use crate::vrrp::track::{
    effective_priority, TrackId, TrackKind, TrackSet, TrackSetFull, TrackSpec, TrackStatus,
};
use crate::wire::vrrp::{AddressList, Auth, Family, Repr, Version};

/// Priority of the address owner (RFC 5798 section 5.2.4).
pub const OWNER_PRIORITY: u8 = 255;
/// Priority sent by a master that stops (RFC 5798 section 5.2.4).
pub const STOP_PRIORITY: u8 = 0;

/// State of an instance (RFC 5798 section 6.4, plus keepalived's FAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started, or stopped.
    Init,
    /// Listening for a master; waits for the master-down timer.
    Backup,
    /// Holds the VIPs and sends adverts.
    Master,
    /// A weight-0 tracked object is down: no adverts sent or heard.
    Fault,
}

impl State {
    /// keepalived's upper-case name (used by notify lines).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// What a notify script or FIFO line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    /// Became master.
    Master,
    /// Became backup.
    Backup,
    /// Entered FAULT.
    Fault,
    /// Stopped.
    Stop,
}

impl NotifyState {
    /// keepalived's word for the state in notify arguments and FIFO lines.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
        }
    }
}

/// The `state` keyword: what the instance would like to be at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (the default).
    Backup,
}

/// Gratuitous ARP / unsolicited NA schedule of a new master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpParams {
    /// `garp_master_delay`: second burst this long after becoming master (None: no second burst). keepalived: 5 s.
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`: messages per VIP in each burst. keepalived: 5.
    pub master_repeat: u8,
    /// `garp_master_refresh`: periodic burst while master (None: off, keepalived's default).
    /// lvsd defaults to 60 s: switches and routers that missed the bursts (a
    /// flapping uplink, a rebooted switch, an ARP cache that aged out) relearn
    /// the VIP's MAC within a minute instead of never.
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: messages per VIP in each refresh. keepalived: 1.
    pub master_refresh_repeat: u8,
}

impl Default for GarpParams {
    fn default() -> Self {
        GarpParams {
            master_delay: Some(Duration::from_secs(5)),
            master_repeat: 5,
            master_refresh: Some(Duration::from_secs(60)),
            master_refresh_repeat: 1,
        }
    }
}

/// Everything an instance needs from the configuration.
#[derive(Debug, Clone)]
pub struct InstanceParams {
    /// `virtual_router_id`, 1..=255.
    pub vrid: u8,
    /// VRRP version.
    pub version: Version,
    /// Address family of the adverts and VIPs.
    pub family: Family,
    /// Configured priority 1..=255 (255 = address owner).
    pub priority: u8,
    /// Own advert interval (v2: whole seconds 1..=255; v3: 10 ms steps, 10 ms..40.95 s).
    pub advert_interval: Duration,
    /// `state MASTER` or `state BACKUP`.
    pub initial_state: InitialState,
    /// false for `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (zero: none).
    pub preempt_delay: Duration,
    /// `down_timer_adverts`, 1..=100 (default 3).
    pub down_timer_adverts: u8,
    /// GARP / NA schedule.
    pub garp: GarpParams,
    /// v2 authentication (v3: `Auth::None`).
    pub auth: Auth,
    /// The virtual addresses.
    pub vips: heapless::Vec<IpAddr, MAX_ADVERT_VIPS>,
    /// Own primary address (source of adverts; the equal-priority tie-break).
    pub primary_address: IpAddr,
    /// Unicast peers (empty: multicast).
    pub unicast_peers: heapless::Vec<IpAddr, MAX_UNICAST_PEERS>,
    /// Tracked objects besides the own interface (ids 1.. in this order).
    pub tracks: heapless::Vec<TrackSpec, { crate::limits::MAX_TRACKS_PER_INSTANCE * 3 }>,
    /// Member of a sync group: master only when the whole group agrees.
    pub in_sync_group: bool,
    /// keepalived's `lower_prio_no_advert` (set by strict mode): a MASTER
    /// hearing a lower priority neither re-advertises nor re-sends GARPs.
    pub lower_prio_no_advert: bool,
}

impl InstanceParams {
    /// Defaults of keepalived for a VRID, version and primary address.
    pub fn new(vrid: u8, version: Version, primary_address: IpAddr) -> InstanceParams {
        InstanceParams {
            vrid,
            version,
            family: Family::of(primary_address),
            priority: 100,
            advert_interval: Duration::from_secs(1),
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: 3,
            garp: GarpParams::default(),
            auth: Auth::None,
            vips: heapless::Vec::new(),
            primary_address,
            unicast_peers: heapless::Vec::new(),
            tracks: heapless::Vec::new(),
            in_sync_group: false,
            lower_prio_no_advert: false,
        }
    }

    /// Check the values the wire and RFCs allow.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.vrid == 0 {
            return Err(ParamError::Vrid);
        }
        if self.priority == 0 {
            return Err(ParamError::Priority);
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ParamError::DownTimerAdverts);
        }
        if Family::of(self.primary_address) != self.family
            || self.vips.iter().any(|v| Family::of(*v) != self.family)
        {
            return Err(ParamError::Family);
        }
        let micros = self.advert_interval.as_micros();
        match self.version {
            Version::V2 => {
                if self.family == Family::Ipv6 {
                    return Err(ParamError::V2OverIpv6);
                }
                if micros % 1_000_000 != 0 || !(1..=255).contains(&(micros / 1_000_000)) {
                    return Err(ParamError::AdvertInterval);
                }
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(ParamError::AuthWithV3);
                }
                if micros % 10_000 != 0 || !(1..=4095).contains(&(micros / 10_000)) {
                    return Err(ParamError::AdvertInterval);
                }
            }
        }
        Ok(())
    }

    /// Advert interval in centiseconds, as the wire carries it.
    pub fn advert_interval_cs(&self) -> u16 {
        (self.advert_interval.as_millis() / 10).min(u128::from(u16::MAX)) as u16
    }
}

/// A parameter outside what VRRP allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    /// VRID 0.
    Vrid,
    /// Priority 0 (reserved for a stopping master).
    Priority,
    /// `down_timer_adverts` outside 1..=100.
    DownTimerAdverts,
    /// Interval not representable in this version.
    AdvertInterval,
    /// Addresses of mixed families.
    Family,
    /// VRRPv2 with IPv6.
    V2OverIpv6,
    /// Authentication with VRRPv3 (RFC 5798 removed it).
    AuthWithV3,
    /// Too many tracked objects.
    Tracks,
}

impl std::error::Error for ParamError {}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            ParamError::Vrid => "virtual_router_id must be in 1..=255",
            ParamError::Priority => "priority must be in 1..=255",
            ParamError::DownTimerAdverts => "down_timer_adverts must be in 1..=100",
            ParamError::AdvertInterval => {
                "advert_int is not representable (v2: 1..=255 s; v3: 0.01..=40.95 s in 10 ms steps)"
            }
            ParamError::Family => "addresses of mixed families",
            ParamError::V2OverIpv6 => "VRRPv2 cannot carry IPv6",
            ParamError::AuthWithV3 => "authentication is not part of VRRPv3",
            ParamError::Tracks => "too many tracked objects",
        };
        write!(f, "vrrp_instance: {what}")
    }
}

impl From<TrackSetFull> for ParamError {
    fn from(_: TrackSetFull) -> Self {
        ParamError::Tracks
    }
}

/// What the daemon must do for the instance, in the order [`Instance::poll_action`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send one advert with this priority (to the group, or to each unicast peer).
    SendAdvert {
        /// Priority to put in the advert (0 when stopping).
        priority: u8,
        /// Advert interval in centiseconds to put in the advert.
        advert_interval_cs: u16,
    },
    /// Add every VIP to the interface.
    AddVips,
    /// Remove every VIP from the interface.
    RemoveVips,
    /// Send `count` gratuitous ARPs / unsolicited NAs per VIP.
    SendGarp {
        /// Messages per VIP.
        count: u8,
    },
    /// Run the notify scripts / write the FIFO line for this state.
    Notify {
        /// The new state.
        state: NotifyState,
        /// Effective priority at the change.
        priority: u8,
    },
}

/// One received, already checked advert (see `vrrp::receive::receive_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// IP source of the advert.
    pub src: IpAddr,
    /// Sender's priority.
    pub priority: u8,
    /// Sender's advert interval.
    pub advert_interval: Duration,
    /// AH: the verified sequence number (`ReceiveNotes::ah_sequence`).
    pub ah_sequence: Option<u32>,
}

impl Advert {
    /// From a parsed advert and its IP source.
    pub fn from_repr(repr: &Repr<'_>, src: IpAddr) -> Advert {
        Advert {
            src,
            priority: repr.priority,
            advert_interval: Duration::from_millis(u64::from(repr.advert_interval_cs) * 10),
            ah_sequence: None,
        }
    }
}

/// What an advert did, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvertOutcome {
    /// Ignored: INIT/FAULT, or our own advert looped back.
    Ignored,
    /// BACKUP: the master is accepted, down timer restarted.
    Accepted,
    /// BACKUP: lower priority ignored, the down timer runs on (preemption).
    Preempting,
    /// BACKUP: priority 0 received, takeover after skew.
    MasterStopped,
    /// MASTER: lower (or equal from a lower address): re-advertised and re-sent GARPs.
    ForcedElection,
    /// MASTER: answered a priority 0 advert with an advert.
    AnsweredStop,
    /// MASTER: a better master exists; now BACKUP.
    SteppedDown,
    /// MASTER: a lower or priority-0 advert within one advert interval of the
    /// last answer: not answered again (a flood must not be amplified).
    AnswerRateLimited,
    /// MASTER with `lower_prio_no_advert` (strict mode): a lower advert is
    /// not answered at all (RFC 5798 section 6.4.3 discards it).
    LowerIgnored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    MasterDown = 0,
    Advert = 1,
    GarpDelay = 2,
    GarpRefresh = 3,
}

const TIMER_COUNT: usize = 4;
const ALL_TIMERS: [Timer; TIMER_COUNT] = [
    Timer::MasterDown,
    Timer::Advert,
    Timer::GarpDelay,
    Timer::GarpRefresh,
];

/// Skew time: v2 `(256 - p) / 256` s whatever the interval (RFC 3768 section 6.1);
/// v3 `(256 - p) * interval / 256` (RFC 5798 section 6.1), in whole microseconds like keepalived.
pub fn skew_time(version: Version, priority: u8, master_advert_interval: Duration) -> Duration {
    let weight = 256 - u64::from(priority);
    let base = match version {
        Version::V2 => 1_000_000,
        Version::V3 => master_advert_interval.as_micros().min(u128::from(u64::MAX)) as u64,
    };
    Duration::from_micros(weight * base / 256)
}

/// Master down interval: `down_timer_adverts x interval + skew` (RFC 5798 section 6.1).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_advert_interval: Duration,
    down_timer_adverts: u8,
) -> Duration {
    master_advert_interval * u32::from(down_timer_adverts)
        + skew_time(version, priority, master_advert_interval)
}

fn address_value(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A VRRP instance.
#[derive(Debug, Clone)]
pub struct Instance {
    params: InstanceParams,
    state: State,
    tracks: TrackSet,
    effective_priority: u8,
    /// v3: interval of the current master (RFC 5798 section 6.4.2), ours when master.
    master_advert_interval: Duration,
    timers: [Option<Instant>; TIMER_COUNT],
    /// keepalived's preempt_time: lower adverts are still accepted before it.
    preempt_deadline: Option<Instant>,
    /// Sync group member whose down timer ran out: waits for the group.
    wants_master: bool,
    /// Held in BACKUP by the operator (`lvsd vrrp stepdown`) until resumed.
    held: bool,
    /// One-shot work not yet handed out by [`Instance::poll_action`], coalesced.
    pending: Pending,
    /// What the driver was last told about the VIPs (true after `AddVips`).
    vips_out: bool,
    /// When a MASTER last answered a lower or priority-0 advert.
    last_answer: Option<Instant>,
    /// Answers left out by the rate limit.
    answers_limited: u64,
    /// Notifications merged away because more state changes than
    /// [`VRRP_NOTIFY_BACKLOG`] happened between two drains.
    notify_coalesced: u64,
    /// AH anti-replay counter: the last sequence number seen or sent
    /// (keepalived's `ipsecah_counter`, one for both directions, so a new
    /// master continues above the old one's numbers).
    ah_sequence: u32,
    /// The counter reached its end (keepalived's `cycle`): it restarts at 0
    /// when this instance next becomes master.
    ah_cycle: bool,
}

/// Which advert is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdvertDue {
    /// A master's advert with the effective priority at the time it is sent.
    Current,
    /// Priority 0: the master is leaving (stop or FAULT).
    Stop,
}

/// One-shot work of an instance. Flags, not a queue: a burst of events asks
/// for the same advert or GARP burst many times and gets it once, and the
/// VIPs follow the state (see [`Instance::poll_action`]), so nothing a state
/// change needs can be lost however many events come between two drains.
#[derive(Debug, Clone, Default)]
struct Pending {
    /// An advert to send now (the latest request wins).
    advert: Option<AdvertDue>,
    /// Remove the VIPs even though this run never added them (left behind by
    /// an earlier run).
    flush_vips: bool,
    /// GARP / NA messages per VIP to send now (the largest request wins; only
    /// a MASTER sends them).
    garp: u8,
    /// State changes to notify, oldest first.
    notify: heapless::Deque<(NotifyState, u8), VRRP_NOTIFY_BACKLOG>,
}

/// The implicit track of the instance's own interface (weight 0: FAULT while down).
pub const OWN_INTERFACE: TrackId = TrackId(0);

impl Instance {
    /// A new instance in INIT; call [`Instance::handle_start`] to run it.
    pub fn new(params: InstanceParams) -> Result<Instance, ParamError> {
        params.validate()?;
        let mut tracks = TrackSet::new();
        tracks.add(TrackSpec {
            kind: TrackKind::Interface,
            weight: 0,
            initial: TrackStatus::Up,
            reverse: false,
        })?;
        for spec in params.tracks.iter() {
            tracks.add(*spec)?;
        }
        let effective_priority = effective_priority(params.priority, tracks.priority_delta());
        Ok(Instance {
            master_advert_interval: params.advert_interval,
            params,
            state: State::Init,
            tracks,
            effective_priority,
            timers: [None; TIMER_COUNT],
            preempt_deadline: None,
            wants_master: false,
            held: false,
            pending: Pending::default(),
            vips_out: false,
            last_answer: None,
            answers_limited: 0,
            notify_coalesced: 0,
            ah_sequence: 0,
            ah_cycle: false,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &InstanceParams {
        &self.params
    }
    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Effective priority (base plus tracking, clamped; 255 for an owner).
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    /// The master's advert interval as currently known (v3 adoption).
    pub fn master_advert_interval(&self) -> Duration {
        self.master_advert_interval
    }
    /// Current master down interval.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.params.version,
            self.effective_priority,
            self.master_advert_interval,
            self.params.down_timer_adverts,
        )
    }
    /// Current skew time.
    pub fn skew_time(&self) -> Duration {
        skew_time(
            self.params.version,
            self.effective_priority,
            self.master_advert_interval,
        )
    }
    /// True for MASTER, or a sync-group member waiting for the group to agree.
    pub fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.wants_master)
    }
    /// True while a weight-0 tracked object (or the own interface) is down.
    pub fn is_faulty(&self) -> bool {
        self.tracks.is_fault()
    }
    /// Id of the n-th configured track (`params.tracks[n]`).
    pub fn track_id(n: usize) -> TrackId {
        TrackId(n + 1)
    }
    /// True while the operator holds the instance in BACKUP (`lvsd vrrp stepdown`).
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Maintenance hand-over (`lvsd vrrp stepdown`): a master sends one
    /// priority-0 advert and removes its VIPs, as at stop, so the backup
    /// takes over after its skew time only (RFC 5798 section 6.4.2). The
    /// instance then stays BACKUP, whatever its down timer says, until
    /// [`Instance::resume`]. Returns the state it left.
    pub fn step_down(&mut self, _now: Instant) -> State {
        let was = self.state;
        self.held = true;
        self.wants_master = false;
        if self.state == State::Master {
            // The VIPs go with the state (poll_action), after this advert.
            self.clear_timers();
            self.send_stop_advert();
            self.state = State::Backup;
            self.master_advert_interval = self.params.advert_interval;
            self.notify(NotifyState::Backup);
        }
        // A held backup never becomes master: no down timer to run.
        if self.state == State::Backup {
            self.set_timer(Timer::MasterDown, None);
        }
        was
    }

    /// Ends a hold: the instance waits a full master down interval, as a
    /// fresh backup, and takes over if nobody better advertises.
    pub fn resume(&mut self, now: Instant) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        if self.state == State::Backup {
            let down = self.master_down_interval();
            self.set_timer(Timer::MasterDown, Some(now + down));
        }
    }
    /// True when the VIPs should be on the interface: exactly while MASTER.
    pub fn wants_vips(&self) -> bool {
        self.state == State::Master
    }
    /// Lower or priority-0 adverts a MASTER did not answer (rate limit).
    pub fn answers_limited(&self) -> u64 {
        self.answers_limited
    }
    /// Notifications merged away in bursts of state changes (the latest state
    /// is always notified).
    pub fn notify_coalesced(&self) -> u64 {
        self.notify_coalesced
    }

    /// The advert to send for an [`Action::SendAdvert`]: our VRID, version, auth and VIPs.
    pub fn advert_repr(&self, priority: u8, advert_interval_cs: u16) -> Repr<'_> {
        Repr {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            advert_interval_cs,
            auth: self.params.auth,
            addresses: AddressList::Slice(&self.params.vips),
        }
    }

    /// What `vrrp::receive::receive_check` must verify for this instance.
    pub fn expectation(&self) -> Expectation<'_> {
        Expectation {
            version: self.params.version,
            auth: self.params.auth,
            advert_interval_cs: self.params.advert_interval_cs(),
            vips: &self.params.vips,
            peers: &self.params.unicast_peers,
            ah_sequence: self.ah_sequence,
        }
    }

    /// AH: the sequence number for the next advert (once per advert, however
    /// many unicast peers get it). keepalived counts from 1 and stops counting
    /// at 0xFFFFFFFE (the counter has "cycled"; it restarts at the next
    /// takeover).
    pub fn next_ah_sequence(&mut self) -> u32 {
        if self.ah_sequence > 0xFFFF_FFFD {
            self.ah_cycle = true;
        } else {
            self.ah_sequence += 1;
        }
        self.ah_sequence
    }

    /// AH: the last sequence number seen or sent.
    pub fn ah_sequence(&self) -> u32 {
        self.ah_sequence
    }

    /// Next action for the daemon, computed from the state and the pending
    /// flags, in this order: the advert (so a new master announces itself and
    /// a leaving one says priority 0 before the VIPs move), the VIPs (added
    /// while MASTER, removed otherwise), the GARP burst (MASTER only), then
    /// the notifications. The daemon must carry out each action it takes;
    /// after `None` the VIPs agree with the state.
    pub fn poll_action(&mut self) -> Option<Action> {
        let master = self.state == State::Master;
        if let Some(due) = self.pending.advert.take() {
            let priority = match due {
                AdvertDue::Stop => Some(STOP_PRIORITY),
                // Only a master advertises its priority.
                AdvertDue::Current => master.then_some(self.effective_priority),
            };
            if let Some(priority) = priority {
                return Some(Action::SendAdvert {
                    priority,
                    advert_interval_cs: self.params.advert_interval_cs(),
                });
            }
        }
        if master && !self.vips_out {
            self.vips_out = true;
            self.pending.flush_vips = false;
            return Some(Action::AddVips);
        }
        if !master && (self.vips_out || self.pending.flush_vips) {
            self.vips_out = false;
            self.pending.flush_vips = false;
            return Some(Action::RemoveVips);
        }
        let count = core::mem::take(&mut self.pending.garp);
        if master && count > 0 {
            return Some(Action::SendGarp { count });
        }
        let (state, priority) = self.pending.notify.pop_front()?;
        Some(Action::Notify { state, priority })
    }

    /// Earliest deadline; call [`Instance::handle_timeout`] then.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    fn request_garp(&mut self, count: u8) {
        self.pending.garp = self.pending.garp.max(count);
    }

    /// Leaving MASTER without a priority-0 advert: a periodic advert asked for
    /// earlier in this turn must not go out any more.
    fn cancel_advert(&mut self) {
        if self.pending.advert == Some(AdvertDue::Current) {
            self.pending.advert = None;
        }
    }

    fn set_timer(&mut self, timer: Timer, at: Option<Instant>) {
        self.timers[timer as usize] = at;
    }

    fn clear_timers(&mut self) {
        self.timers = [None; TIMER_COUNT];
    }

    fn send_advert(&mut self) {
        self.pending.advert = Some(AdvertDue::Current);
    }

    fn send_stop_advert(&mut self) {
        self.pending.advert = Some(AdvertDue::Stop);
    }

    /// Queues a notification; when more state changes than the backlog holds
    /// come between two drains, the oldest is merged away (and counted): the
    /// latest state is always notified.
    fn notify(&mut self, state: NotifyState) {
        let priority = self.effective_priority;
        if self.pending.notify.is_full() {
            self.pending.notify.pop_front();
            self.notify_coalesced += 1;
        }
        let _ = self.pending.notify.push_back((state, priority));
    }

    /// Start: remove stale VIPs, then the startup rules of BEHAVIOUR.md: an owner
    /// with `state MASTER` is master at once; another `state MASTER` waits one
    /// advert interval + skew; everything else waits the master down interval.
    pub fn handle_start(&mut self, now: Instant) {
        if self.state != State::Init {
            return;
        }
        self.master_advert_interval = self.params.advert_interval;
        self.preempt_deadline = None;
        self.wants_master = false;
        if self.tracks.is_fault() {
            self.pending.flush_vips = true;
            self.enter_fault(now);
            return;
        }
        let owner = self.params.priority == OWNER_PRIORITY;
        if owner && self.params.initial_state == InitialState::Master && !self.params.in_sync_group
        {
            self.enter_master(now);
            return;
        }
        // VIPs left behind by a crashed earlier run.
        self.pending.flush_vips = true;
        self.state = State::Backup;
        let wait = if self.params.initial_state == InitialState::Master {
            self.master_advert_interval + self.skew_time()
        } else {
            self.master_down_interval()
        };
        self.set_timer(Timer::MasterDown, Some(now + wait));
        self.notify(NotifyState::Backup);
        if owner && self.params.initial_state == InitialState::Master {
            // A sync-group owner still waits for its group, but wants master now.
            self.set_timer(Timer::MasterDown, Some(now));
        }
    }

    /// Stop: a master sends one priority-0 advert, then removes its VIPs (RFC 5798 section 6.4.3).
    pub fn handle_stop(&mut self, _now: Instant) {
        if self.state == State::Init {
            return;
        }
        if self.state == State::Master {
            // The VIPs go with the state (poll_action), after this advert.
            self.send_stop_advert();
        }
        self.clear_timers();
        self.state = State::Init;
        self.wants_master = false;
        self.notify(NotifyState::Stop);
    }

    /// Move to MASTER now: advert first, then the VIPs, then the GARP burst (RFC 5798 section 6.4.1).
    /// Sync groups call this when every member wants master.
    pub fn become_master(&mut self, now: Instant) {
        if self.state == State::Backup && !self.held {
            self.enter_master(now);
        }
    }

    fn enter_master(&mut self, now: Instant) {
        // keepalived resets a cycled AH counter when it becomes master.
        if std::mem::take(&mut self.ah_cycle) {
            self.ah_sequence = 0;
        }
        self.state = State::Master;
        self.wants_master = false;
        self.preempt_deadline = None;
        // RFC 5798 section 6.4.3: a master uses its own interval.
        self.master_advert_interval = self.params.advert_interval;
        self.last_answer = None;
        self.clear_timers();
        // Advert, then the VIPs (they follow the state), then the GARP burst.
        self.send_advert();
        let garp = self.params.garp;
        self.request_garp(garp.master_repeat);
        self.notify(NotifyState::Master);
        self.set_timer(Timer::Advert, Some(now + self.params.advert_interval));
        self.set_timer(Timer::GarpDelay, garp.master_delay.map(|d| now + d));
        self.set_timer(Timer::GarpRefresh, garp.master_refresh.map(|d| now + d));
    }

    /// Move to BACKUP and wait the master down interval (sync group: a member went BACKUP).
    pub fn become_backup(&mut self, now: Instant) {
        match self.state {
            State::Backup => {
                // Forced by the group: forget a pending wish, wait for a master again.
                if self.wants_master {
                    self.wants_master = false;
                    let down = self.master_down_interval();
                    self.set_timer(Timer::MasterDown, Some(now + down));
                }
            }
            State::Master => {
                self.clear_timers();
                self.cancel_advert();
                self.state = State::Backup;
                self.wants_master = false;
                let down = self.master_down_interval();
                self.set_timer(Timer::MasterDown, Some(now + down));
                self.notify(NotifyState::Backup);
            }
            State::Init | State::Fault => {}
        }
    }

    /// Enter FAULT (own tracking, or forced by the sync group): a master sends one
    /// priority-0 advert and removes its VIPs.
    pub fn enter_fault(&mut self, _now: Instant) {
        if self.state == State::Fault {
            return;
        }
        if self.state == State::Master {
            // The VIPs go with the state (poll_action), after this advert.
            self.send_stop_advert();
        }
        self.clear_timers();
        self.state = State::Fault;
        self.wants_master = false;
        self.preempt_deadline = None;
        self.notify(NotifyState::Fault);
    }

    /// Leave FAULT for BACKUP and wait the full master down interval (only when not faulty).
    pub fn leave_fault(&mut self, now: Instant) {
        if self.state != State::Fault || self.tracks.is_fault() {
            return;
        }
        self.state = State::Backup;
        self.master_advert_interval = self.params.advert_interval;
        let down = self.master_down_interval();
        self.set_timer(Timer::MasterDown, Some(now + down));
        self.notify(NotifyState::Backup);
    }

    /// A tracked object changed: recompute priority; weight 0 down -> FAULT, all
    /// clear -> BACKUP. Sync-group members leave the FAULT decision to the group.
    pub fn handle_track(&mut self, now: Instant, id: TrackId, status: TrackStatus) {
        if !self.tracks.set(id, status) {
            return;
        }
        self.effective_priority =
            effective_priority(self.params.priority, self.tracks.priority_delta());
        if self.params.in_sync_group || self.state == State::Init {
            return;
        }
        if self.tracks.is_fault() {
            self.enter_fault(now);
        } else if self.state == State::Fault {
            self.leave_fault(now);
        }
    }

    /// An advert for this VRID that passed `vrrp::receive::receive_check`.
    pub fn handle_advert(&mut self, now: Instant, advert: &Advert) -> AdvertOutcome {
        if advert.src == self.params.primary_address {
            return AdvertOutcome::Ignored;
        }
        if let Some(sequence) = advert.ah_sequence {
            // keepalived adopts every verified sequence number, whatever the state.
            self.ah_sequence = sequence;
            if self.state == State::Backup {
                self.ah_cycle = false;
            }
        }
        match self.state {
            State::Init | State::Fault => AdvertOutcome::Ignored,
            State::Backup => self.backup_receive(now, advert),
            State::Master => self.master_receive(now, advert),
        }
    }

    /// RFC 5798 section 6.4.2 with keepalived's preempt_delay.
    fn backup_receive(&mut self, now: Instant, advert: &Advert) -> AdvertOutcome {
        if advert.priority == STOP_PRIORITY {
            // The master is leaving: take over after skew time only.
            let skew = self.skew_time();
            if !self.wants_master {
                self.set_timer(Timer::MasterDown, Some(now + skew));
            }
            return AdvertOutcome::MasterStopped;
        }
        let own = self.effective_priority;
        let delaying =
            !self.params.preempt_delay.is_zero() && self.preempt_deadline.map_or(true, |d| now < d);
        if !self.params.preempt || advert.priority >= own || delaying {
            if !self.params.preempt_delay.is_zero() {
                // keepalived: a better master restarts the delay; the first lower one starts it.
                if advert.priority > own || self.preempt_deadline.is_none() {
                    self.preempt_deadline = Some(now + self.params.preempt_delay);
                }
            }
            if self.params.version == Version::V3 && !advert.advert_interval.is_zero() {
                self.master_advert_interval = advert.advert_interval;
            }
            self.wants_master = false;
            let down = self.master_down_interval();
            self.set_timer(Timer::MasterDown, Some(now + down));
            AdvertOutcome::Accepted
        } else {
            AdvertOutcome::Preempting
        }
    }

    /// Whether a MASTER may answer an advert now: at most one answer (advert
    /// and GARP burst) per advert interval, so a flood is not amplified.
    fn may_answer(&mut self, now: Instant) -> bool {
        if self
            .last_answer
            .is_some_and(|at| now < at + self.params.advert_interval)
        {
            self.answers_limited += 1;
            return false;
        }
        self.last_answer = Some(now);
        true
    }

    /// RFC 5798 section 6.4.3 with keepalived's split-brain healing.
    fn master_receive(&mut self, now: Instant, advert: &Advert) -> AdvertOutcome {
        let own = self.effective_priority;
        if advert.priority == STOP_PRIORITY {
            if !self.may_answer(now) {
                return AdvertOutcome::AnswerRateLimited;
            }
            self.send_advert();
            self.set_timer(Timer::Advert, Some(now + self.params.advert_interval));
            return AdvertOutcome::AnsweredStop;
        }
        let they_win = advert.priority > own
            || (advert.priority == own
                && address_value(advert.src) > address_value(self.params.primary_address));
        if they_win {
            self.ah_cycle = false;
            self.clear_timers();
            self.cancel_advert();
            self.state = State::Backup;
            if self.params.version == Version::V3 && !advert.advert_interval.is_zero() {
                self.master_advert_interval = advert.advert_interval;
            }
            let down = self.master_down_interval();
            self.set_timer(Timer::MasterDown, Some(now + down));
            self.notify(NotifyState::Backup);
            AdvertOutcome::SteppedDown
        } else {
            if let Some(sequence) = advert.ah_sequence {
                // keepalived "Syncing seq_num": continue above the lower master.
                self.ah_sequence = sequence.saturating_add(1);
                self.ah_cycle = false;
            }
            if self.params.lower_prio_no_advert {
                return AdvertOutcome::LowerIgnored;
            }
            // "Forcing a new election": assert mastership and re-announce the VIPs.
            if !self.may_answer(now) {
                return AdvertOutcome::AnswerRateLimited;
            }
            self.send_advert();
            let count = self.params.garp.master_repeat;
            self.request_garp(count);
            self.set_timer(Timer::Advert, Some(now + self.params.advert_interval));
            AdvertOutcome::ForcedElection
        }
    }

    /// Run every timer that is due at `now`. Extra calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in ALL_TIMERS {
            let Some(at) = self.timers[timer as usize] else {
                continue;
            };
            if at > now {
                continue;
            }
            match timer {
                Timer::MasterDown => {
                    self.set_timer(Timer::MasterDown, None);
                    if self.state == State::Backup && !self.held {
                        if self.params.in_sync_group {
                            self.wants_master = true;
                        } else {
                            self.enter_master(now);
                        }
                    }
                }
                Timer::Advert => {
                    self.send_advert();
                    // Keep the cadence of the schedule, not of our wake-ups.
                    let next = at + self.params.advert_interval;
                    self.set_timer(
                        Timer::Advert,
                        Some(if next > now {
                            next
                        } else {
                            now + self.params.advert_interval
                        }),
                    );
                }
                Timer::GarpDelay => {
                    self.set_timer(Timer::GarpDelay, None);
                    let count = self.params.garp.master_repeat;
                    self.request_garp(count);
                }
                Timer::GarpRefresh => {
                    let count = self.params.garp.master_refresh_repeat;
                    self.request_garp(count);
                    let every = self
                        .params
                        .garp
                        .master_refresh
                        .unwrap_or(Duration::from_secs(60));
                    self.set_timer(Timer::GarpRefresh, Some(now + every));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests may read the clock and files
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn params(priority: u8, version: Version) -> InstanceParams {
        let mut p = InstanceParams::new(51, version, ip(10));
        p.priority = priority;
        p.vips.push(ip(100)).unwrap();
        p.garp.master_refresh = None;
        p
    }

    fn drain(i: &mut Instance) -> Vec<Action> {
        core::iter::from_fn(|| i.poll_action()).collect()
    }

    fn advert(src: u8, priority: u8, interval_ms: u64) -> Advert {
        Advert {
            src: ip(src),
            priority,
            advert_interval: Duration::from_millis(interval_ms),
            ah_sequence: None,
        }
    }

    fn run_until(i: &mut Instance, end: Instant) -> Vec<(Instant, Action)> {
        let mut out = Vec::new();
        while let Some(at) = i.poll_at() {
            if at > end {
                break;
            }
            i.handle_timeout(at);
            out.extend(drain(i).into_iter().map(|a| (at, a)));
        }
        out
    }

    #[test]
    fn exact_numbers() {
        assert_eq!(
            skew_time(Version::V2, 100, Duration::from_secs(1)),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, Duration::from_secs(1), 3),
            Duration::from_micros(3_609_375)
        );
        // v2 skew ignores the interval.
        assert_eq!(
            skew_time(Version::V2, 100, Duration::from_secs(5)),
            Duration::from_micros(609_375)
        );
        // v3 skew scales with it: (256-100) * 50 ms / 256 = 30.46875 ms.
        assert_eq!(
            skew_time(Version::V3, 100, Duration::from_millis(50)),
            Duration::from_nanos(30_468_000)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, Duration::from_millis(50), 3),
            Duration::from_nanos(180_468_000)
        );
        assert_eq!(
            skew_time(Version::V2, 255, Duration::from_secs(1)),
            Duration::from_micros(3_906)
        );
        assert_eq!(
            master_down_interval(Version::V2, 90, Duration::from_secs(1), 5),
            Duration::from_micros(5_648_437)
        );
    }

    #[test]
    fn backup_start_waits_down_interval_then_becomes_master_in_order() {
        let t0 = Instant::now();
        let mut i = Instance::new(params(100, Version::V2)).unwrap();
        i.handle_start(t0);
        assert_eq!(i.state(), State::Backup);
        assert_eq!(
            drain(&mut i),
            [
                Action::RemoveVips,
                Action::Notify {
                    state: NotifyState::Backup,
                    priority: 100
                }
            ]
        );
        assert_eq!(i.poll_at(), Some(t0 + Duration::from_micros(3_609_375)));
        i.handle_timeout(t0 + Duration::from_micros(3_609_374));
        assert_eq!(i.state(), State::Backup);
        let at = t0 + Duration::from_micros(3_609_375);
        i.handle_timeout(at);
        assert_eq!(i.state(), State::Master);
        assert_eq!(
            drain(&mut i),
            [
                Action::SendAdvert {
                    priority: 100,
                    advert_interval_cs: 100
                },
                Action::AddVips,
                Action::SendGarp { count: 5 },
                Action::Notify {
                    state: NotifyState::Master,
                    priority: 100
                },
            ]
        );
        // Adverts every second, second GARP burst after garp_master_delay.
        let later = run_until(&mut i, at + Duration::from_secs(5));
        let adverts: Vec<_> = later
            .iter()
            .filter(|(_, a)| matches!(a, Action::SendAdvert { .. }))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(
            adverts,
            (1..=5)
                .map(|n| at + Duration::from_secs(n))
                .collect::<Vec<_>>()
        );
        assert!(later.contains(&(at + Duration::from_secs(5), Action::SendGarp { count: 5 })));
    }

    #[test]
    fn startup_rules_owner_and_state_master() {
        let t0 = Instant::now();
        let mut p = params(255, Version::V2);
        p.initial_state = InitialState::Master;
        let mut owner = Instance::new(p).unwrap();
        owner.handle_start(t0);
        assert_eq!(owner.state(), State::Master);
        let mut p = params(100, Version::V2);
        p.initial_state = InitialState::Master;
        let mut m = Instance::new(p).unwrap();
        m.handle_start(t0);
        assert_eq!(m.state(), State::Backup);
        // one advert + skew
        assert_eq!(m.poll_at(), Some(t0 + Duration::from_micros(1_609_375)));
        let mut p = params(255, Version::V2);
        p.initial_state = InitialState::Backup;
        let mut b = Instance::new(p).unwrap();
        b.handle_start(t0);
        assert_eq!(b.poll_at(), Some(t0 + Duration::from_micros(3_003_906)));
    }

    #[test]
    fn backup_accepts_higher_and_equal_ignores_lower_when_preempting() {
        let t0 = Instant::now();
        let mut i = Instance::new(params(100, Version::V2)).unwrap();
        i.handle_start(t0);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            i.handle_advert(t1, &advert(20, 150, 1000)),
            AdvertOutcome::Accepted
        );
        assert_eq!(i.poll_at(), Some(t1 + Duration::from_micros(3_609_375)));
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(
            i.handle_advert(t2, &advert(20, 100, 1000)),
            AdvertOutcome::Accepted
        );
        assert_eq!(
            i.handle_advert(t2 + Duration::from_secs(1), &advert(20, 99, 1000)),
            AdvertOutcome::Preempting
        );
        // The timer was not restarted by the lower advert: takeover at t2 + down.
        assert_eq!(i.poll_at(), Some(t2 + Duration::from_micros(3_609_375)));
    }

    #[test]
    fn nopreempt_accepts_lower() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.preempt = false;
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        assert_eq!(
            i.handle_advert(t0, &advert(20, 50, 1000)),
            AdvertOutcome::Accepted
        );
        assert_eq!(i.poll_at(), Some(t0 + Duration::from_micros(3_609_375)));
    }

    #[test]
    fn preempt_delay_accepts_lower_until_it_expires() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.preempt_delay = Duration::from_secs(10);
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        // First lower advert starts the delay and is accepted.
        assert_eq!(
            i.handle_advert(t0, &advert(20, 50, 1000)),
            AdvertOutcome::Accepted
        );
        for s in 1..10 {
            assert_eq!(
                i.handle_advert(t0 + Duration::from_secs(s), &advert(20, 50, 1000)),
                AdvertOutcome::Accepted
            );
        }
        let t10 = t0 + Duration::from_secs(10);
        assert_eq!(
            i.handle_advert(t10, &advert(20, 50, 1000)),
            AdvertOutcome::Preempting
        );
        assert_eq!(
            i.poll_at(),
            Some(t0 + Duration::from_secs(9) + Duration::from_micros(3_609_375))
        );
    }

    #[test]
    fn backup_takes_over_after_skew_on_priority_zero() {
        let t0 = Instant::now();
        let mut i = Instance::new(params(100, Version::V2)).unwrap();
        i.handle_start(t0);
        i.handle_advert(t0, &advert(20, 200, 1000));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(
            i.handle_advert(t1, &advert(20, 0, 1000)),
            AdvertOutcome::MasterStopped
        );
        assert_eq!(i.poll_at(), Some(t1 + Duration::from_micros(609_375)));
    }

    #[test]
    fn v3_backup_adopts_master_interval_and_returns_to_own_as_master() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V3);
        p.advert_interval = Duration::from_millis(100);
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        drain(&mut i);
        assert_eq!(
            i.handle_advert(t0, &advert(20, 200, 50)),
            AdvertOutcome::Accepted
        );
        assert_eq!(i.master_advert_interval(), Duration::from_millis(50));
        assert_eq!(i.poll_at(), Some(t0 + Duration::from_nanos(180_468_000)));
        i.handle_timeout(t0 + Duration::from_nanos(180_468_000));
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.master_advert_interval(), Duration::from_millis(100));
        assert_eq!(
            drain(&mut i)[0],
            Action::SendAdvert {
                priority: 100,
                advert_interval_cs: 10
            }
        );
    }

    /// An instance that reached MASTER through its startup timer, actions drained.
    fn master(priority: u8) -> (Instance, Instant) {
        let t0 = Instant::now();
        let mut p = params(priority, Version::V2);
        p.initial_state = InitialState::Master;
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        let at = i.poll_at().unwrap();
        i.handle_timeout(at);
        assert_eq!(i.state(), State::Master);
        drain(&mut i);
        (i, at)
    }

    #[test]
    fn master_answers_priority_zero_at_once() {
        let (mut m, t) = master(100);
        let t1 = t + Duration::from_millis(300);
        assert_eq!(
            m.handle_advert(t1, &advert(20, 0, 1000)),
            AdvertOutcome::AnsweredStop
        );
        assert_eq!(
            drain(&mut m),
            [Action::SendAdvert {
                priority: 100,
                advert_interval_cs: 100
            }]
        );
        assert_eq!(m.poll_at(), Some(t1 + Duration::from_secs(1)));
    }

    #[test]
    fn master_heals_split_brain_on_lower_or_equal_lower_ip() {
        let (mut m, t) = master(100);
        let heal = [
            Action::SendAdvert {
                priority: 100,
                advert_interval_cs: 100,
            },
            Action::SendGarp { count: 5 },
        ];
        assert_eq!(
            m.handle_advert(t, &advert(20, 90, 1000)),
            AdvertOutcome::ForcedElection
        );
        assert_eq!(drain(&mut m), heal);
        // equal priority from a lower address (10.0.0.5 < 10.0.0.10), one
        // advert interval later (answers are rate-limited)
        let t1 = t + Duration::from_secs(1);
        assert_eq!(
            m.handle_advert(t1, &advert(5, 100, 1000)),
            AdvertOutcome::ForcedElection
        );
        assert_eq!(drain(&mut m), heal);
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn answers_to_lower_and_stop_adverts_are_rate_limited() {
        let (mut m, t) = master(100);
        assert_eq!(
            m.handle_advert(t, &advert(20, 90, 1000)),
            AdvertOutcome::ForcedElection
        );
        // 1,000 more within the interval, lower and priority 0: no answer.
        for k in 0..1000u64 {
            let at = t + Duration::from_micros(999_000 * k / 1000);
            let prio = if k % 2 == 0 { 90 } else { 0 };
            assert_eq!(
                m.handle_advert(at, &advert(20, prio, 1000)),
                AdvertOutcome::AnswerRateLimited
            );
        }
        // One advert and one GARP burst for the whole flood.
        assert_eq!(
            drain(&mut m),
            [
                Action::SendAdvert {
                    priority: 100,
                    advert_interval_cs: 100
                },
                Action::SendGarp { count: 5 }
            ]
        );
        assert_eq!(m.answers_limited(), 1000);
        // The periodic advert was not pushed back by the ignored ones.
        assert_eq!(m.poll_at(), Some(t + Duration::from_secs(1)));
        let t1 = t + Duration::from_secs(1);
        assert_eq!(
            m.handle_advert(t1, &advert(20, 0, 1000)),
            AdvertOutcome::AnsweredStop
        );
    }

    #[test]
    fn a_burst_between_drains_loses_nothing_a_state_change_needs() {
        // Finding 2 of issue 10: 30 lower adverts, then a winner, no drain in
        // between. The old 16-slot queue dropped RemoveVips here.
        let (mut m, t) = master(100);
        for _ in 0..30 {
            m.handle_advert(t, &advert(20, 50, 1000));
        }
        assert_eq!(
            m.handle_advert(t, &advert(20, 200, 1000)),
            AdvertOutcome::SteppedDown
        );
        assert_eq!(
            drain(&mut m),
            [
                Action::RemoveVips,
                Action::Notify {
                    state: NotifyState::Backup,
                    priority: 100
                }
            ]
        );
        assert!(!m.wants_vips());
    }

    #[test]
    fn flapping_between_drains_converges_and_keeps_the_latest_notify() {
        let (mut m, t) = master(100);
        // 100 link flaps before the daemon drains: FAULT and BACKUP in turn.
        for k in 0..100 {
            let status = if k % 2 == 0 {
                TrackStatus::Down
            } else {
                TrackStatus::Up
            };
            m.handle_track(t, OWN_INTERFACE, status);
        }
        assert_eq!(m.state(), State::Backup);
        let actions = drain(&mut m);
        // Priority 0 once, the VIPs removed once, then the latest notifies.
        assert_eq!(
            actions[..2],
            [
                Action::SendAdvert {
                    priority: 0,
                    advert_interval_cs: 100
                },
                Action::RemoveVips
            ]
        );
        let notifies: Vec<_> = actions[2..]
            .iter()
            .map(|a| match a {
                Action::Notify { state, .. } => *state,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(notifies.len(), crate::limits::VRRP_NOTIFY_BACKLOG);
        assert_eq!(notifies.last(), Some(&NotifyState::Backup));
        assert_eq!(m.notify_coalesced(), 100 - notifies.len() as u64);
        // Becoming master again gives the VIPs back, in order.
        let at = m.poll_at().unwrap();
        m.handle_timeout(at);
        assert_eq!(
            drain(&mut m)[..3],
            [
                Action::SendAdvert {
                    priority: 100,
                    advert_interval_cs: 100
                },
                Action::AddVips,
                Action::SendGarp { count: 5 }
            ]
        );
    }

    #[test]
    fn a_backup_never_sends_a_pending_master_advert() {
        let (mut m, t) = master(100);
        // The periodic advert is due, then a winner arrives before the drain.
        let at = m.poll_at().unwrap();
        m.handle_timeout(at);
        m.handle_advert(at, &advert(20, 200, 1000));
        let actions = drain(&mut m);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::SendAdvert { .. })),
            "{actions:?}"
        );
        assert_eq!(actions[0], Action::RemoveVips);
        let _ = t;
    }

    #[test]
    fn master_steps_down_on_higher_or_equal_higher_ip() {
        for adv in [advert(20, 101, 1000), advert(20, 100, 1000)] {
            let (mut m, t) = master(100);
            assert_eq!(m.handle_advert(t, &adv), AdvertOutcome::SteppedDown);
            assert_eq!(m.state(), State::Backup);
            assert_eq!(
                drain(&mut m),
                [
                    Action::RemoveVips,
                    Action::Notify {
                        state: NotifyState::Backup,
                        priority: 100
                    }
                ]
            );
            assert_eq!(m.poll_at(), Some(t + Duration::from_micros(3_609_375)));
        }
    }

    #[test]
    fn stop_sends_priority_zero_then_removes_vips() {
        let (mut m, t) = master(100);
        m.handle_stop(t);
        assert_eq!(
            drain(&mut m),
            [
                Action::SendAdvert {
                    priority: 0,
                    advert_interval_cs: 100
                },
                Action::RemoveVips,
                Action::Notify {
                    state: NotifyState::Stop,
                    priority: 100
                },
            ]
        );
        assert_eq!(m.state(), State::Init);
        assert_eq!(m.poll_at(), None);
    }

    #[test]
    fn own_interface_down_means_fault_with_priority_zero() {
        let (mut m, t) = master(100);
        m.handle_track(t, OWN_INTERFACE, TrackStatus::Down);
        assert_eq!(m.state(), State::Fault);
        assert_eq!(
            drain(&mut m),
            [
                Action::SendAdvert {
                    priority: 0,
                    advert_interval_cs: 100
                },
                Action::RemoveVips,
                Action::Notify {
                    state: NotifyState::Fault,
                    priority: 100
                },
            ]
        );
        assert_eq!(
            m.handle_advert(t, &advert(20, 200, 1000)),
            AdvertOutcome::Ignored
        );
        assert_eq!(m.poll_at(), None);
        let t1 = t + Duration::from_secs(3);
        m.handle_track(t1, OWN_INTERFACE, TrackStatus::Up);
        assert_eq!(m.state(), State::Backup);
        assert_eq!(m.poll_at(), Some(t1 + Duration::from_micros(3_609_375)));
    }

    #[test]
    fn tracking_weights_change_priority_and_owner_is_fixed() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.tracks
            .push(TrackSpec {
                kind: TrackKind::Script,
                weight: -30,
                initial: TrackStatus::Up,
                reverse: false,
            })
            .unwrap();
        p.tracks
            .push(TrackSpec {
                kind: TrackKind::File,
                weight: 0,
                initial: TrackStatus::Value(0),
                reverse: false,
            })
            .unwrap();
        let mut i = Instance::new(p.clone()).unwrap();
        i.handle_start(t0);
        assert_eq!(i.effective_priority(), 100);
        i.handle_track(t0, Instance::track_id(0), TrackStatus::Down);
        assert_eq!(i.effective_priority(), 70);
        // A backup at 70 no longer preempts a master at 80.
        assert_eq!(
            i.handle_advert(t0, &advert(20, 80, 1000)),
            AdvertOutcome::Accepted
        );
        i.handle_track(t0, Instance::track_id(1), TrackStatus::Value(1));
        assert_eq!(i.state(), State::Fault);
        p.priority = 255;
        let mut owner = Instance::new(p).unwrap();
        owner.handle_start(t0);
        owner.handle_track(t0, Instance::track_id(0), TrackStatus::Down);
        assert_eq!(owner.effective_priority(), 255);
    }

    #[test]
    fn fault_at_start() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.tracks
            .push(TrackSpec {
                kind: TrackKind::Interface,
                weight: 0,
                initial: TrackStatus::Down,
                reverse: false,
            })
            .unwrap();
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        assert_eq!(i.state(), State::Fault);
        assert_eq!(i.poll_at(), None);
    }

    #[test]
    fn own_looped_advert_is_ignored() {
        let (mut m, t) = master(100);
        assert_eq!(
            m.handle_advert(t, &advert(10, 200, 1000)),
            AdvertOutcome::Ignored
        );
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn validate_rejects_bad_params() {
        let mut p = params(100, Version::V2);
        p.advert_interval = Duration::from_millis(1500);
        assert_eq!(Instance::new(p).unwrap_err(), ParamError::AdvertInterval);
        let mut p = params(100, Version::V3);
        p.advert_interval = Duration::from_millis(41_000);
        assert_eq!(Instance::new(p).unwrap_err(), ParamError::AdvertInterval);
        let mut p = params(100, Version::V3);
        p.auth = Auth::pass(b"x");
        assert_eq!(Instance::new(p).unwrap_err(), ParamError::AuthWithV3);
        let mut p = params(100, Version::V2);
        p.down_timer_adverts = 0;
        assert_eq!(Instance::new(p).unwrap_err(), ParamError::DownTimerAdverts);
    }

    #[test]
    fn garp_refresh_repeats() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.garp.master_refresh = Some(Duration::from_secs(60));
        p.garp.master_delay = None;
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        let at = i.poll_at().unwrap();
        i.handle_timeout(at);
        drain(&mut i);
        let garps: Vec<_> = run_until(&mut i, at + Duration::from_secs(125))
            .into_iter()
            .filter(|(_, a)| matches!(a, Action::SendGarp { .. }))
            .collect();
        assert_eq!(
            garps,
            [
                (at + Duration::from_secs(60), Action::SendGarp { count: 1 }),
                (at + Duration::from_secs(120), Action::SendGarp { count: 1 })
            ]
        );
    }

    #[test]
    fn step_down_sends_priority_zero_holds_backup_until_resume() {
        let (mut m, t0) = master(200);
        let now = t0 + Duration::from_millis(10);
        assert_eq!(m.step_down(now), State::Master);
        assert_eq!(m.state(), State::Backup);
        assert!(m.is_held());
        assert_eq!(
            drain(&mut m),
            [
                Action::SendAdvert {
                    priority: 0,
                    advert_interval_cs: 100
                },
                Action::RemoveVips,
                Action::Notify {
                    state: NotifyState::Backup,
                    priority: 200
                }
            ]
        );
        // No master anywhere for a long time: still held in BACKUP, silent.
        let later = now + Duration::from_secs(60);
        m.handle_timeout(later);
        assert_eq!(m.state(), State::Backup);
        assert!(drain(&mut m).is_empty());
        // A lower master's adverts do not tempt it either.
        m.handle_advert(later, &advert(9, 100, 1000));
        m.handle_timeout(later + Duration::from_secs(10));
        assert_eq!(m.state(), State::Backup);
        // Resume: a full down interval, then master again.
        let r = later + Duration::from_secs(20);
        m.resume(r);
        assert!(!m.is_held());
        assert_eq!(m.poll_at(), Some(r + m.master_down_interval()));
        m.handle_timeout(r + m.master_down_interval());
        assert_eq!(m.state(), State::Master);
        // A backup can be held too (it then never takes over).
        let mut b = Instance::new(params(100, Version::V3)).unwrap();
        b.handle_start(t0);
        assert_eq!(b.step_down(t0), State::Backup);
        assert_eq!(b.poll_at(), None);
    }

    #[test]
    fn ah_sequence_is_shared_by_both_directions() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V2);
        p.auth = Auth::ah(b"1111");
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        // A backup adopts the master's numbers...
        let mut a = advert(20, 150, 1000);
        a.ah_sequence = Some(41);
        i.handle_advert(t0, &a);
        assert_eq!(i.expectation().ah_sequence, 41);
        // ...and, once master, continues above them (keepalived: a new
        // master's adverts must not look like replays to the others).
        let down = t0 + Duration::from_secs(4);
        i.handle_timeout(down);
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.next_ah_sequence(), 42);
        assert_eq!(i.next_ah_sequence(), 43);
        // A lower master's advert: continue above it ("Syncing seq_num").
        let mut low = advert(20, 50, 1000);
        low.ah_sequence = Some(1000);
        assert_eq!(
            i.handle_advert(down + Duration::from_secs(1), &low),
            AdvertOutcome::ForcedElection
        );
        assert_eq!(i.next_ah_sequence(), 1002);
        // The counter stops at its end, then restarts at the next takeover.
        let mut top = advert(20, 150, 1000);
        top.ah_sequence = Some(0xFFFF_FFFE);
        i.handle_advert(down + Duration::from_secs(2), &top);
        assert_eq!(i.state(), State::Backup);
        assert_eq!(i.next_ah_sequence(), 0xFFFF_FFFE);
        i.handle_timeout(down + Duration::from_secs(10));
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.next_ah_sequence(), 1);
    }

    #[test]
    fn strict_master_does_not_answer_lower_adverts() {
        let t0 = Instant::now();
        let mut p = params(100, Version::V3);
        p.lower_prio_no_advert = true;
        let mut i = Instance::new(p).unwrap();
        i.handle_start(t0);
        let t1 = t0 + Duration::from_secs(4);
        i.handle_timeout(t1);
        assert_eq!(i.state(), State::Master);
        drain(&mut i);
        let at = t1 + Duration::from_millis(500);
        assert_eq!(
            i.handle_advert(at, &advert(20, 50, 1000)),
            AdvertOutcome::LowerIgnored
        );
        assert_eq!(drain(&mut i), [], "no advert, no GARP burst");
        // Priority 0 is still answered, and a higher one still wins.
        assert_eq!(
            i.handle_advert(at, &advert(20, 0, 1000)),
            AdvertOutcome::AnsweredStop
        );
        assert_eq!(
            i.handle_advert(at, &advert(20, 150, 1000)),
            AdvertOutcome::SteppedDown
        );
    }
}
