fn main() {
    chainload::waitfor::PROG.main(chainload::waitfor::run)
}
