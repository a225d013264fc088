#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::inotify::PROG, chainload::inotify::run);
