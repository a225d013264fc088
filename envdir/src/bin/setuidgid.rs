#![no_main]
indicore::program!(chainload::setuidgid::PROG, chainload::setuidgid::run);
