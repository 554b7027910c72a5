//! Every syscall and every `unsafe`: the event loop, sockets, netlink, child
//! processes, signals and the control socket. No policy lives here.

pub mod anycast;
pub mod caps;
pub mod child;
pub mod config_file;
pub mod control;
pub mod event_loop;
pub mod files;
pub mod iface;
pub mod include;
pub mod log;
pub mod measure;
pub mod metrics;
pub mod netlink;
pub mod netns;
pub mod packet;
pub mod probe;
pub mod proc_events;
pub mod procstat;
pub mod signal;
pub mod sockopt;
pub mod stopwatch;
pub mod sysctl;
pub mod timerfd;
pub mod timers;
pub mod user;
pub mod vrrp_socket;
