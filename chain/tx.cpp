#include "chain/tx.hpp"

#include "chain/hash.hpp"

namespace ig::chain {

void encode_body(Writer& w, const TxBody& b) {
  w.str(b.chain_id);
  w.fixed(b.sender);
  w.u64(b.nonce);
  w.u64(b.fee);
  w.u64(b.expiry_height);
  encode_payload(w, b.payload);
}

void encode_tx(Writer& w, const Transaction& tx) {
  encode_body(w, tx.body);
  w.fixed(tx.signature);
}

Bytes encode_tx(const Transaction& tx) {
  Writer w;
  encode_tx(w, tx);
  return std::move(w).take();
}

Transaction read_tx(Reader& r) {
  Transaction tx;
  tx.body.chain_id = r.str(kMaxChainIdBytes);
  tx.body.sender = r.fixed<32>();
  tx.body.nonce = r.u64();
  tx.body.fee = r.u64();
  tx.body.expiry_height = r.u64();
  tx.body.payload = read_payload(r);
  tx.signature = r.fixed<64>();
  return tx;
}

Expected<Transaction> decode_tx(ByteView bytes) {
  if (bytes.size() > kMaxTxBytes)
    return fail("tx.oversized", "transaction of " + std::to_string(bytes.size()) + " bytes exceeds the cap of " +
                                    std::to_string(kMaxTxBytes));
  Reader r(bytes);
  Transaction tx = read_tx(r);
  IG_TRY(r.finish());
  return tx;
}

Hash tx_hash(const Transaction& tx) { return sha256(encode_tx(tx)); }

Hash tx_signing_hash(const TxBody& body) {
  Writer w;
  encode_body(w, body);
  return signing_hash(kTagTx, body.chain_id, w.data());
}

Transaction sign_tx(TxBody body, const SecretKey& key) {
  Transaction tx{std::move(body), {}};
  Hash h = tx_signing_hash(tx.body);
  tx.signature = key.sign(h);
  return tx;
}

bool verify_tx_signature(const Transaction& tx) {
  Hash h = tx_signing_hash(tx.body);
  return verify_signature(tx.body.sender, h, tx.signature);
}

Status check_tx_stateless(const Transaction& tx, size_t encoded_size, std::string_view chain_id, uint64_t height) {
  if (encoded_size > kMaxTxBytes) return fail("tx.oversized", "transaction exceeds " + std::to_string(kMaxTxBytes) + " bytes");
  if (tx.body.chain_id != chain_id)
    return fail("tx.wrong_chain", "transaction is for chain \"" + tx.body.chain_id + "\", this is \"" + std::string(chain_id) + "\"");
  if (tx.body.expiry_height != 0 && tx.body.expiry_height < height)
    return fail("tx.expired", "transaction expired at height " + std::to_string(tx.body.expiry_height));
  if (!verify_tx_signature(tx)) return fail("tx.bad_signature", "signature does not verify for the sender's key");
  return {};
}

}  // namespace ig::chain
