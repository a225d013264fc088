fn main() {
    chainload::main(chainload::setlock::PROG, chainload::setlock::run)
}
