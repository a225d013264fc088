fn main() {
    chainload::main(chainload::envuidgid::PROG, chainload::envuidgid::run)
}
