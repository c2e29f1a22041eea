#pragma once
// files: test data for transfers — large pseudo-random files, small directory trees — and byte-exact
// comparisons (SHA-256, diff -r) done with the stock tools.
#include <cstdint>
#include <string>

namespace bastion::e2e {

// write_random_file writes `size` pseudo-random bytes (xorshift, seeded) to path, fast enough for GiBs.
void write_random_file(const std::string& path, std::uint64_t size, std::uint64_t seed);
// sha256_of: the hex SHA-256 of a file (sha256sum).
std::string sha256_of(const std::string& path);
std::uint64_t file_size(const std::string& path);
// make_tree fills dir with a small tree: nested directories, an empty file, a name with a space,
// text, and a few random binary files up to 3 MiB.
void make_tree(const std::string& dir);
// same_bytes: "" when cmp finds the two files identical byte for byte, otherwise what cmp said (the first
// differing byte, or which one is shorter). Faster than hashing both on a small machine.
std::string same_bytes(const std::string& a, const std::string& b);
// diff_trees: "" when `diff -r a b` finds no difference, otherwise its output.
std::string diff_trees(const std::string& a, const std::string& b);

}  // namespace bastion::e2e
