#include "transport/connection_limit.hpp"

#include <utility>

namespace parley {

connection_slot::connection_slot(connection_slot&& other) noexcept
  : owner_(std::exchange(other.owner_, nullptr)),
    address_(std::move(other.address_)) {}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = std::move(other.address_);
  }
  return *this;
}

connection_slot::~connection_slot() {
  release();
}

void connection_slot::release() noexcept {
  if (auto owner = std::exchange(owner_, nullptr))
    owner->release(address_);
}

std::optional<connection_slot>
connection_counter::try_acquire(const std::string& address) {
  if (limit_ == 0)
    return connection_slot{};
  std::lock_guard<std::mutex> guard{mtx_};
  auto& open = open_[address];
  if (open >= limit_)
    return std::nullopt;
  ++open;
  return connection_slot{this, address};
}

size_t connection_counter::count(const std::string& address) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

void connection_counter::release(const std::string& address) noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = open_.find(address);
  if (it == open_.end())
    return;
  // Forget addresses with no connection, so the map holds only open ones.
  if (--it->second == 0)
    open_.erase(it);
}

} // namespace parley
