//! `[vrrp_track_process]`, `track_process` and the `track_file` options load
//! with keepalived 2.2.7's defaults and sync-group rules.

use std::time::Duration;

use lvsd::config::{load_str, ParamMatch, TrackFileInit};

const INSTANCES: &str = "
[vrrp_instance VI_1]
interface = eth0
virtual_router_id = 51
virtual_ipaddress = 10.0.0.1
track_process = plain
track_process = args weight 7 noreverse

[vrrp_instance VI_2]
interface = eth0
virtual_router_id = 52
virtual_ipaddress = 10.0.0.2
track_file = /run/a weight -3 reverse init_file -2 overwrite
track_file = /run/b init_file
track_file = /run/c weight 0

[vrrp_sync_group G]
group = VI_1 VI_2
track_process = args weight 4
track_process = none
";

const PROCESSES: &str = "
[vrrp_track_process plain]
process = nginx

[vrrp_track_process args]
process = /usr/sbin/app -c /etc/app.conf
weight = -20 reverse
delay = 1.5
terminate_delay = 3

[vrrp_track_process none]
process = a-very-long-process-name
quorum_max = 0
";

#[test]
fn definitions_take_keepalived_defaults() {
    let config = load_str(&format!("{PROCESSES}{INSTANCES}"), "t.ini").unwrap();
    let [plain, args, none] = &config.vrrp_track_processes[..] else {
        panic!("{:?}", config.vrrp_track_processes)
    };
    assert_eq!(
        (
            plain.quorum,
            plain.quorum_max,
            plain.weight,
            plain.full_command
        ),
        (1, u32::MAX, 0, false)
    );
    assert_eq!(plain.param_match, ParamMatch::None);
    // Arguments mean the command line, compared exactly.
    assert_eq!(args.params, ["-c", "/etc/app.conf"]);
    assert_eq!(
        (args.param_match, args.full_command),
        (ParamMatch::Exact, true)
    );
    assert_eq!((args.weight, args.reverse), (-20, true));
    assert_eq!(args.fork_delay, Duration::from_millis(1500));
    assert_eq!(args.terminate_delay, Duration::from_secs(3));
    // `quorum_max 0` alone: up while no such process runs.
    assert_eq!((none.quorum, none.quorum_max), (0, 0));
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.message.contains("15-byte")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn instances_and_groups_resolve_like_keepalived() {
    let config = load_str(&format!("{PROCESSES}{INSTANCES}"), "t.ini").unwrap();
    let vi1 = &config.vrrp_instances[0].track_processes;
    let names: Vec<(&str, i32, bool)> = vi1
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    // `plain` with the definition's weight; `args` listed on the instance
    // takes the group's weight (4) as keepalived does; `none` from the group.
    assert_eq!(
        names,
        [("plain", 0, false), ("args", 4, false), ("none", 0, false)]
    );
    let vi2 = &config.vrrp_instances[1].track_processes;
    assert_eq!((vi2[0].name.as_str(), vi2[0].weight), ("args", 4));
    // With an address owner (255) in the group, the group's weight becomes 0.
    let owner = INSTANCES.replace(
        "virtual_router_id = 52\n",
        "virtual_router_id = 52\npriority = 255\nstate = MASTER\n",
    );
    let config_owner = load_str(&format!("{PROCESSES}{owner}"), "t.ini").unwrap();
    let vi2 = &config_owner.vrrp_instances[1].track_processes;
    assert!(vi2.iter().all(|t| t.weight == 0), "{vi2:?}");
    assert!(config_owner
        .warnings
        .iter()
        .any(|w| w.message.contains("priority 255")));
    let files = &config.vrrp_instances[1].track_files;
    assert_eq!((files[0].weight, files[0].reverse), (-3, true));
    assert_eq!(
        files[0].init,
        Some(TrackFileInit {
            value: -2,
            overwrite: true
        })
    );
    assert_eq!(
        (files[1].weight, files[1].init),
        (
            1,
            Some(TrackFileInit {
                value: 0,
                overwrite: false
            })
        )
    );
    assert_eq!((files[2].weight, files[2].init), (0, None));
}

#[test]
fn a_definition_nobody_tracks_is_a_warning() {
    let text = "[vrrp_track_process idle]\nprocess = x\n\n[vrrp_instance VI_1]\n\
                interface = eth0\nvirtual_router_id = 51\nvirtual_ipaddress = 10.0.0.1\n";
    let config = load_str(text, "t.ini").unwrap();
    assert!(config
        .warnings
        .iter()
        .any(|w| w.message.contains("not watched")));
}
