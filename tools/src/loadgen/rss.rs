//! The server's resident memory, from `/proc/PID/status` (Linux).

/// `VmRSS` of process `pid`, in KiB; `None` when it cannot be read (no
/// such process, or not Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:   1234 kB` line of a status file.
fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vm_rss_line_is_read_in_kib() {
        let status = "Name:\tfieldsync\nVmPeak:\t  90000 kB\nVmRSS:\t   42424 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(42424));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
