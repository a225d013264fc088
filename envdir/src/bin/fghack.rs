fn main() {
    chainload::main(chainload::fghack::PROG, chainload::fghack::run)
}
