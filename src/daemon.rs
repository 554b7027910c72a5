//! The running daemon: owns the event loop and routes events between `io` and
//! the pure state machines.
