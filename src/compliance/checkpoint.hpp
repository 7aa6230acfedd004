#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// Checkpoints anchor the compliance chain outside its database. The chain shows an event
// changed, removed or inserted, but someone able to rewrite the whole table could recompute
// every hash after their change. A checkpoint is the chain's head (an event's number and hash)
// signed with a key that is not in that database (Ed25519, a file in the data directory):
// each export writes one, into the database and beside the exported files, and
// `perch compliance verify` holds the chain against every checkpoint it is given.
namespace perch::compliance {

struct Checkpoint {
    int64_t seq = 0;        // the last event of the chain when it was signed
    std::string hash;       // that event's hash (hex)
    int64_t ts_us = 0;      // when it was signed
    std::string key_id;     // the first 16 hex digits of SHA-256 of the public key
    std::string signature;  // base64 Ed25519 signature of message()

    // What is signed: the fields in one line, with a label so that the signature means
    // nothing elsewhere.
    std::string message() const;
    std::string to_json() const;
    static std::optional<Checkpoint> from_json(std::string_view text);
};

// An Ed25519 key pair kept in a PEM file (created, readable by its owner only, when missing
// and asked to), or just a public key (to verify on another machine).
class CheckpointKey {
  public:
    // The private key in `path`; with `create`, a new one is made when the file is missing.
    // Throws when it cannot be read or made.
    static CheckpointKey open(const std::string& path, bool create);
    // A public key (PEM, as public_pem() writes it): verifies, does not sign.
    static CheckpointKey from_public_pem(std::string_view pem);

    Checkpoint sign(int64_t seq, const std::string& hash, int64_t ts_us) const;
    // Whether the checkpoint is signed by this key and unchanged since.
    bool verifies(const Checkpoint& c) const;
    const std::string& key_id() const { return key_id_; }
    std::string public_pem() const;

  private:
    struct Key;
    explicit CheckpointKey(std::shared_ptr<Key> key, bool can_sign);
    std::shared_ptr<Key> key_;
    bool can_sign_ = false;
    std::string key_id_;
};

}  // namespace perch::compliance
