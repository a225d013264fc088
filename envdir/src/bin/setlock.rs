fn main() {
    chainload::setlock::PROG.main(chainload::setlock::run)
}
