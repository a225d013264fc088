#![cfg_attr(not(test), no_main)]
indicore::program!(
    multilog::tai64nlocal::PROG_LOCAL,
    multilog::tai64nlocal::run_local
);
