//! CPU time of a process: the benchmark's own, where the servers under load run, or a database's.

/// CPU time process `pid` (a number, or `self`: the servers' tokio worker; the main thread only
/// waits for wrk) has used so far, in seconds: user and system, every thread. Linux reports it in
/// 1/100 s.
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("Linux's /proc/<pid>/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a command name") + 2..]
        .split(' ')
        .collect();
    let ticks = |index: usize| fields[index].parse::<f64>().expect("a tick count");
    // utime and stime are the 14th and 15th fields of the line, so 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}
