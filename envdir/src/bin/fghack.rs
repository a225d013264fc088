fn main() {
    chainload::fghack::PROG.main(chainload::fghack::run)
}
