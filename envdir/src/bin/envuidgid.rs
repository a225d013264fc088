fn main() {
    chainload::envuidgid::PROG.main(chainload::envuidgid::run)
}
