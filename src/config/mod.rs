//! INI text -> validated, fixed-capacity configuration; keepalived.conf import.
