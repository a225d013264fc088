fn main() {
    chainload::envdir::PROG.main(chainload::envdir::run)
}
