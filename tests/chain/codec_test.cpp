// The canonical codec: every encoded type round-trips, and every malformed input is refused
// with the right error (truncation at every byte, trailing bytes, oversized lengths and
// counts, unknown tags, bad booleans).
#include <gtest/gtest.h>

#include "chain/block.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

Transaction sample_tx(uint64_t nonce = 7, std::string memo = "rent for march") {
  TestKeys k;
  return make_transfer(k.alice, nonce, k.bob.public_key(), 123456789, 4321, kChainId, 99, std::move(memo));
}

Commit sample_commit(uint64_t height = 5) {
  TestKeys k;
  Hash bh = hash_of("block");
  return Commit{height, 2, bh,
                {sign_precommit(k.validator, kChainId, height, 2, bh), sign_precommit(k.alice, kChainId, height, 2, bh)}};
}

BlockHeader sample_header() {
  TestKeys k;
  BlockHeader h;
  h.chain_id = kChainId;
  h.height = 6;
  h.time_ms = 1'700'000'123'456;
  h.prev_hash = hash_of("prev");
  h.tx_root = hash_of("txs");
  h.receipts_root = hash_of("receipts");
  h.state_root = hash_of("state");
  h.proposer = k.validator.public_key();
  h.validators_hash = hash_of("validators");
  h.last_commit_hash = hash_of("commit");
  return h;
}

Block sample_block() {
  Block b;
  b.header = sample_header();
  b.txs = {sample_tx(1), sample_tx(2, ""), sample_tx(3, std::string(kMaxMemoBytes, 'm'))};
  b.last_commit = sample_commit();
  return b;
}

Receipt sample_receipt() {
  Receipt r;
  r.tx_hash = hash_of("tx");
  r.height = 42;
  r.index = 3;
  r.code = TxCode::kInsufficientFunds;
  r.error = "balance 5 is less than 10";
  r.fee_paid = 2000;
  r.events = {Event{"fee", {{"payer", "ig1x"}, {"amount", "2000"}}}, Event{"empty", {}},
              Event{"transfer", {{"from", "a"}, {"to", "b"}, {"amount", "10"}}}};
  return r;
}

std::vector<Validator> sample_validators() {
  TestKeys k;
  return {Validator{k.validator.public_key(), k.validator_account.public_key(), 100, "v0"},
          Validator{k.alice.public_key(), k.bob.public_key(), 1, ""}};
}

// Every strict prefix of a valid encoding must be refused as truncated, never accepted
// and never read past the end.
template <typename Decode>
void expect_every_prefix_truncated(const Bytes& full, Decode decode) {
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = decode(ByteView(full.data(), n));
    ASSERT_FALSE(r) << "prefix of " << n << " of " << full.size() << " bytes was accepted";
    EXPECT_EQ(r.error().code, "codec.truncated") << "prefix " << n << ": " << r.error().to_string();
  }
}

template <typename Decode>
void expect_trailing_rejected(Bytes full, Decode decode) {
  full.push_back(0);
  auto r = decode(full);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.trailing_bytes");
}

void put_u32_at(Bytes& b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(ChainCodec, IntegersAreLittleEndianFixedWidth) {
  Writer w;
  w.u8(0xAB);
  w.u16(0x0102);
  w.u32(0x01020304);
  w.u64(0x0102030405060708ull);
  w.boolean(true);
  w.str("hi");
  Bytes expect = {0xAB, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05,
                  0x04, 0x03, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 'h', 'i'};
  EXPECT_EQ(w.data(), expect);
  Reader r(w.data());
  EXPECT_EQ(r.u8(), 0xAB);
  EXPECT_EQ(r.u16(), 0x0102);
  EXPECT_EQ(r.u32(), 0x01020304u);
  EXPECT_EQ(r.u64(), 0x0102030405060708ull);
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.str(2), "hi");
  EXPECT_TRUE(r.finish());
}

TEST(ChainCodec, BadBoolIsRejected) {
  for (uint8_t v : {uint8_t{2}, uint8_t{0x80}, uint8_t{0xFF}}) {
    Bytes b{v};
    Reader r(b);
    r.boolean();
    auto st = r.finish();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "codec.bad_bool");
  }
  Bytes zero{0};
  Reader r(zero);
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.finish());
}

TEST(ChainCodec, ErrorsAreStickyAndReadsAfterAnErrorYieldZero) {
  Bytes b{1, 2};
  Reader r(b);
  EXPECT_EQ(r.u32(), 0u);  // truncated
  EXPECT_EQ(r.u8(), 0u);   // bytes remain, but the reader has failed
  auto st = r.finish();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "codec.truncated");
}

TEST(ChainCodec, LengthPrefixOfFourGigabytesDoesNotAllocate) {
  Bytes b = {0xFF, 0xFF, 0xFF, 0xFF, 'x'};
  Reader r(b);
  EXPECT_TRUE(r.bytes(1 << 20).empty());
  auto st = r.finish();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "codec.oversized");
  // A length under the cap but beyond the input is truncation, also before any allocation.
  Bytes c = {0x00, 0x00, 0x01, 0x00, 'x'};
  Reader r2(c);
  EXPECT_TRUE(r2.bytes(1 << 20).empty());
  EXPECT_EQ(r2.finish().error().code, "codec.truncated");
}

TEST(ChainCodec, CountsAreCappedAndMustFitTheInput) {
  Bytes b = {0xFF, 0xFF, 0xFF, 0xFF};
  Reader r(b);
  EXPECT_EQ(r.count(100), 0u);
  EXPECT_EQ(r.finish().error().code, "codec.oversized");
  Bytes c = {10, 0, 0, 0, 1, 2, 3};  // 10 elements of >= 1 byte in 3 bytes
  Reader r2(c);
  EXPECT_EQ(r2.count(100, 1), 0u);
  EXPECT_EQ(r2.finish().error().code, "codec.truncated");
}

TEST(ChainCodec, TransactionRoundTrips) {
  for (const Transaction& tx : {sample_tx(), sample_tx(0, ""), sample_tx(UINT64_MAX, std::string(kMaxMemoBytes, 'z'))}) {
    Bytes enc = encode_tx(tx);
    auto dec = decode_tx(enc);
    ASSERT_TRUE(dec) << dec.error().to_string();
    EXPECT_EQ(*dec, tx);
    EXPECT_EQ(encode_tx(*dec), enc);
    EXPECT_EQ(tx_hash(*dec), sha256(enc));
  }
}

TEST(ChainCodec, TransactionLayoutIsTheDocumentedOne) {
  Transaction tx = sample_tx(7, "m");
  const auto& t = std::get<Transfer>(tx.body.payload);
  Writer w;
  w.str(kChainId);
  w.fixed(tx.body.sender);
  w.u64(7);
  w.u64(4321);
  w.u64(99);
  w.u8(Transfer::kTag);
  w.fixed(t.to);
  w.u64(123456789);
  w.str("m");
  w.fixed(tx.signature);
  EXPECT_EQ(encode_tx(tx), w.data());
}

TEST(ChainCodec, TransactionRejectsEveryTruncationAndTrailingBytes) {
  Bytes enc = encode_tx(sample_tx());
  expect_every_prefix_truncated(enc, [](ByteView b) { return decode_tx(b); });
  expect_trailing_rejected(enc, [](ByteView b) { return decode_tx(b); });
}

TEST(ChainCodec, TransactionRejectsOversizedChainIdAndMemo) {
  Bytes enc = encode_tx(sample_tx());
  Bytes huge = enc;
  put_u32_at(huge, 0, 0xFFFFFFFF);  // the chain id's length prefix
  auto r = decode_tx(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.oversized");

  Transaction long_memo = sample_tx(1, std::string(kMaxMemoBytes + 1, 'x'));
  auto r2 = decode_tx(encode_tx(long_memo));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "codec.oversized");

  TxBody body = sample_tx().body;
  body.chain_id = std::string(kMaxChainIdBytes + 1, 'c');
  auto r3 = decode_tx(encode_tx(Transaction{body, {}}));
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().code, "codec.oversized");

  Bytes too_big(kMaxTxBytes + 1, 0);
  auto r4 = decode_tx(too_big);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().code, "tx.oversized");
}

TEST(ChainCodec, TransactionRejectsUnknownPayloadTag) {
  Transaction tx = sample_tx(7, "");
  Bytes enc = encode_tx(tx);
  const size_t tag_at = 4 + std::string(kChainId).size() + 32 + 8 + 8 + 8;
  ASSERT_EQ(enc[tag_at], Transfer::kTag);
  for (uint8_t tag : {uint8_t{0}, uint8_t{0xFE}, uint8_t{0xFF}}) {  // tags never to be assigned
    Bytes bad = enc;
    bad[tag_at] = tag;
    auto r = decode_tx(bad);
    ASSERT_FALSE(r) << "tag " << int(tag);
    EXPECT_EQ(r.error().code, "tx.unknown_payload");
  }
}

TEST(ChainCodec, CommitRoundTripsAndRejectsMalformedInput) {
  for (const Commit& c : {sample_commit(), Commit{}}) {
    Bytes enc = encode_commit(c);
    auto dec = decode_commit(enc);
    ASSERT_TRUE(dec) << dec.error().to_string();
    EXPECT_EQ(*dec, c);
    expect_every_prefix_truncated(enc, [](ByteView b) { return decode_commit(b); });
    expect_trailing_rejected(enc, [](ByteView b) { return decode_commit(b); });
  }
  Bytes enc = encode_commit(sample_commit());
  put_u32_at(enc, 8 + 4 + 32, 0xFFFFFFFF);  // signature count
  auto r = decode_commit(enc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.oversized");
  put_u32_at(enc, 8 + 4 + 32, 1000);  // under the cap, but 1000 * 96 bytes are not there
  EXPECT_EQ(decode_commit(enc).error().code, "codec.truncated");
}

TEST(ChainCodec, CommitHashOfTheEmptyCommitIsZero) {
  EXPECT_EQ(commit_hash(Commit{}), Hash{});
  Commit c = sample_commit();
  EXPECT_EQ(commit_hash(c), sha256(encode_commit(c)));
  EXPECT_NE(commit_hash(c), Hash{});
}

TEST(ChainCodec, BlockWithTxsAndCommitRoundTrips) {
  Block b = sample_block();
  Bytes enc = encode_block(b);
  auto dec = decode_block(enc);
  ASSERT_TRUE(dec) << dec.error().to_string();
  EXPECT_EQ(*dec, b);
  EXPECT_EQ(encode_block(*dec), enc);
  EXPECT_EQ(block_hash(dec->header), block_hash(b.header));

  Block empty;
  empty.header = sample_header();
  auto dec2 = decode_block(encode_block(empty));
  ASSERT_TRUE(dec2);
  EXPECT_EQ(*dec2, empty);
}

TEST(ChainCodec, BlockRejectsEveryTruncationAndTrailingBytes) {
  Bytes enc = encode_block(sample_block());
  expect_every_prefix_truncated(enc, [](ByteView b) { return decode_block(b); });
  expect_trailing_rejected(enc, [](ByteView b) { return decode_block(b); });
}

TEST(ChainCodec, BlockRejectsOversizedTxCount) {
  Block b;
  b.header = sample_header();
  Bytes enc = encode_block(b);
  const size_t count_at = encode_header(b.header).size();
  put_u32_at(enc, count_at, 0xFFFFFFFF);
  auto r = decode_block(enc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.oversized");
  put_u32_at(enc, count_at, kMaxTxsPerBlock);  // allowed count, but the bytes are not there
  auto r2 = decode_block(enc);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "codec.truncated");
}

TEST(ChainCodec, HeaderEncodingAndHashCoverEveryField) {
  BlockHeader h = sample_header();
  Bytes enc = encode_header(h);
  EXPECT_EQ(enc.size(), 4 + std::string(kChainId).size() + 8 + 8 + 32 * 7);
  EXPECT_EQ(block_hash(h), sha256(enc));
  // Changing any field changes the hash.
  std::vector<std::function<void(BlockHeader&)>> edits = {
      [](BlockHeader& x) { x.chain_id = "other"; },       [](BlockHeader& x) { x.height++; },
      [](BlockHeader& x) { x.time_ms++; },                [](BlockHeader& x) { x.prev_hash[0] ^= 1; },
      [](BlockHeader& x) { x.tx_root[31] ^= 1; },         [](BlockHeader& x) { x.receipts_root[5] ^= 1; },
      [](BlockHeader& x) { x.state_root[0] ^= 0x80; },    [](BlockHeader& x) { x.proposer[1] ^= 1; },
      [](BlockHeader& x) { x.validators_hash[2] ^= 1; },  [](BlockHeader& x) { x.last_commit_hash[3] ^= 1; }};
  for (size_t i = 0; i < edits.size(); ++i) {
    BlockHeader e = h;
    edits[i](e);
    EXPECT_NE(block_hash(e), block_hash(h)) << "edit " << i;
  }
}

TEST(ChainCodec, ReceiptWithEventsRoundTripsAndRejectsMalformedInput) {
  Receipt r = sample_receipt();
  Bytes enc = encode_receipt(r);
  auto dec = chain::decode_receipt(enc);
  ASSERT_TRUE(dec) << dec.error().to_string();
  EXPECT_EQ(*dec, r);
  expect_every_prefix_truncated(enc, [](ByteView b) { return chain::decode_receipt(b); });
  expect_trailing_rejected(enc, [](ByteView b) { return chain::decode_receipt(b); });

  const size_t events_at = 32 + 8 + 4 + 4 + 4 + r.error.size() + 8;
  Bytes bad = enc;
  put_u32_at(bad, events_at, 0xFFFFFFFF);
  EXPECT_EQ(chain::decode_receipt(bad).error().code, "codec.oversized");
  // The first event's attribute count.
  Bytes bad2 = enc;
  put_u32_at(bad2, events_at + 4 + 4 + r.events[0].type.size(), 0xFFFFFFFF);
  EXPECT_EQ(chain::decode_receipt(bad2).error().code, "codec.oversized");
}

TEST(ChainCodec, ReceiptWithAnUnknownCodeIsRejected) {
  Receipt r = sample_receipt();
  r.code = TxCode::kNotFound;
  ASSERT_TRUE(chain::decode_receipt(encode_receipt(r)));
  Bytes raw = encode_receipt(r);
  // The code follows the tx hash (32), height (8) and index (4).
  raw[44] = static_cast<uint8_t>(static_cast<uint32_t>(TxCode::kNotFound) + 1);
  auto bad = chain::decode_receipt(raw);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "receipt.bad_code");
}

TEST(ChainCodec, ValidatorsRoundTripAndRejectMalformedInput) {
  auto vs = sample_validators();
  Bytes enc = encode_validators(vs);
  auto dec = decode_validators(enc);
  ASSERT_TRUE(dec) << dec.error().to_string();
  EXPECT_EQ(*dec, vs);
  EXPECT_EQ(validators_hash(vs), sha256(enc));
  expect_every_prefix_truncated(enc, [](ByteView b) { return decode_validators(b); });
  expect_trailing_rejected(enc, [](ByteView b) { return decode_validators(b); });
  Bytes bad = enc;
  put_u32_at(bad, 0, 0xFFFFFFFF);
  EXPECT_EQ(decode_validators(bad).error().code, "codec.oversized");

  auto empty = decode_validators(encode_validators({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ChainCodec, HexRoundTripAndRejection) {
  Bytes b = {0x00, 0x01, 0xAB, 0xFF};
  EXPECT_EQ(to_hex(b), "0001abff");
  auto back = from_hex("0x0001ABff");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, b);
  EXPECT_EQ(from_hex("abc").error().code, "hex.odd_length");
  EXPECT_EQ(from_hex("zz").error().code, "hex.invalid");
  EXPECT_EQ(from_hex_fixed<32>("00").error().code, "hex.length");
}

}  // namespace
}  // namespace ig::testing
