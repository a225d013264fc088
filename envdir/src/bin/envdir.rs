fn main() {
    chainload::main(chainload::envdir::PROG, chainload::envdir::run)
}
