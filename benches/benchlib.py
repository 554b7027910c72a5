"""Small readers shared by the Python benches."""


def tcpdump_records(path):
    """(time, source address, line) for each line of a `tcpdump -l -n -tt`
    text capture; lines without a leading time are skipped."""
    with open(path, errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3:
                continue
            try:
                t = float(fields[0])
            except ValueError:
                continue
            yield t, fields[2], line


def proc_stat(pid):
    """(text up to the command name's ")", fields after it: state first) of
    /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    end = st.rindex(")")
    return st[:end], st[end + 2:].split()
