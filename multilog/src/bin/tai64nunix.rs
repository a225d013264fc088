#![cfg_attr(not(test), no_main)]
indicore::program!(
    multilog::tai64nlocal::PROG_UNIX,
    multilog::tai64nlocal::run_unix
);
