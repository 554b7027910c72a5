//! Every syscall and every `unsafe`: the event loop, sockets, netlink, child
//! processes, signals and the control socket. No policy lives here.
pub mod child;
pub mod probe;
