// Device residency of the graph's float buffers (Backend::bind): a backend whose ops run in
// another memory keeps one device copy per bound host buffer, and knows which side holds its
// current contents, so activations and KV caches stay on the device between ops and cross only
// when the graph asks (Backend::copy, Backend::to_host). Written once over a memory policy: the
// CUDA backend's (kernels/cuda/cuda_backend.cu), and a simulated device in the tests, which run
// the whole engine through it on the CPU.
//
// Memory must provide:
//   struct Buffer;                                   // owns n floats of device memory, movable
//   bool alloc(Buffer& b, size_t n);                 // false on failure
//   float* data(const Buffer& b);
//   bool upload(float* dev, const float* host, size_t n);
//   bool download(float* host, const float* dev, size_t n);
// (C++17: the CUDA sources include this header.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>

namespace ig::kernels {

template <typename Memory>
class Residency {
 public:
  explicit Residency(Memory& mem) : mem_(&mem), regions_(std::make_shared<Map>()) {}

  // Binds host p[0..n): the host holds its contents until an op writes it. A region
  // overlapping it (the same buffer bound again) is replaced, its contents first brought to the
  // host. The handle unbinds this binding when the last copy of it is destroyed (not a later
  // binding of the same address), also after this Residency is gone. Null when p is empty or the
  // device memory could not be had: the buffer then stays on the host.
  std::shared_ptr<void> bind(const float* p, size_t n) {
    if (p == nullptr || n == 0) return nullptr;
    Map& m = *regions_;
    for (auto o = m.begin(); o != m.end();) {
      if (o->first < p + n && p < o->first + o->second.n) {
        to_host(o->first, o->second.n);
        o = m.erase(o);
      } else {
        ++o;
      }
    }
    Region r;
    r.base = p;
    r.n = n;
    r.id = ++last_id_;
    if (!mem_->alloc(r.buf, n)) return nullptr;
    m.emplace(p, std::move(r));
    std::weak_ptr<Map> weak = regions_;
    const uint64_t id = last_id_;
    return std::shared_ptr<void>(const_cast<float*>(p), [weak, id](void* q) {
      auto map = weak.lock();
      if (!map) return;
      auto it = map->find(static_cast<const float*>(q));
      if (it != map->end() && it->second.id == id) map->erase(it);
    });
  }

  // The device address of p[0..n) if it lies in a bound buffer, its contents current there
  // (the whole buffer uploaded first when the host held them); nullptr when it is not bound (or
  // an upload failed: `failed()`).
  float* read(const float* p, size_t n) {
    Region* r = find(p, n);
    if (r == nullptr || !make_device_current(*r)) return nullptr;
    return mem_->data(r->buf) + (p - r->base);
  }
  // The same for a range an op writes (and may read first): afterwards only the device holds
  // the buffer's contents.
  float* write(const float* p, size_t n) {
    Region* r = find(p, n);
    if (r == nullptr || !make_device_current(*r)) return nullptr;
    r->host_current = false;
    return mem_->data(r->buf) + (p - r->base);
  }
  // Brings host p[0..n) up to date when it lies in a bound buffer whose contents are on the
  // device (only that range crosses: a decode step reads one row of a 64-row logits buffer).
  bool to_host(const float* p, size_t n) {
    Region* r = find(p, n);
    if (r == nullptr || r->host_current) return true;
    if (!mem_->download(const_cast<float*>(p), mem_->data(r->buf) + (p - r->base), n)) return fail();
    downloaded_ += n;
    return true;
  }
  bool bound(const float* p, size_t n) { return find(p, n) != nullptr; }

  bool failed() const { return failed_; }
  // Floats moved so far, for tests and benchmarks: what stayed on the device is what did not.
  size_t uploaded() const { return uploaded_; }
  size_t downloaded() const { return downloaded_; }

 private:
  struct Region {
    const float* base = nullptr;
    size_t n = 0;
    uint64_t id = 0;
    typename Memory::Buffer buf;
    bool host_current = true;
    bool device_current = false;
  };
  using Map = std::map<const float*, Region>;

  Region* find(const float* p, size_t n) {
    Map& m = *regions_;
    auto it = m.upper_bound(p);
    if (it == m.begin()) return nullptr;
    --it;
    Region& r = it->second;
    if (p + n > it->first + r.n) return nullptr;
    return &r;
  }
  bool make_device_current(Region& r) {
    if (r.device_current) return true;
    if (!mem_->upload(mem_->data(r.buf), r.base, r.n)) return fail();
    uploaded_ += r.n;
    r.device_current = true;
    return true;
  }
  bool fail() {
    failed_ = true;
    return false;
  }

  Memory* mem_;
  std::shared_ptr<Map> regions_;
  bool failed_ = false;
  uint64_t last_id_ = 0;
  size_t uploaded_ = 0, downloaded_ = 0;
};

}  // namespace ig::kernels
