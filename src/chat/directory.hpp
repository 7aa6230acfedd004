#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat/authz.hpp"
#include "store/store.hpp"

namespace perch::chat {

// What discovery needs of every room and category, whether its room is loaded or not: read
// from the store at start and kept current by the room service. Thread-safe; the lock is never
// held while calling out.
class Directory {
  public:
    struct Listing {
        store::Room meta;
        RoomRules rules;
        std::string category;
        uint64_t stamp = 0;  // which put this is (see stamp())
    };

    // Replaces everything with what the store holds.
    void load(store::Store& store);
    void put_room(const store::Room& room, const RoomRules& rules);
    // Which put the room's listing is now (0: none). A reader of the store takes it before
    // reading and puts what it read with put_room_if(): if the listing changed meanwhile (an
    // event from the room's server, possibly newer than what was read), nothing is put and
    // the caller reads again.
    uint64_t stamp(const std::string& node) const;
    bool put_room_if(const store::Room& room, const RoomRules& rules, uint64_t stamp);
    void remove_room(const std::string& node);
    void put_category(int64_t id, std::shared_ptr<const CategoryRules> rules);
    void remove_category(const std::string& name);

    // Add-ins by name (their URLs), read again from the store: rooms name theirs.
    void load_addins(store::Store& store);
    std::string addin_url(const std::string& name) const;  // empty for none or an unknown one
    std::map<std::string, std::string> addins() const;

    size_t room_count() const;
    std::optional<Listing> room(const std::string& node) const;
    // A room's category rules; a category unknown here admits nobody.
    std::shared_ptr<const CategoryRules> category(int64_t id) const;
    std::optional<std::pair<int64_t, std::shared_ptr<const CategoryRules>>> category_named(
        const std::string& name) const;

    // The rooms `who` may find (never a secret room to a non-member), optionally of one
    // category.
    std::vector<Listing> rooms_for(const Subject& who, const std::string* category = nullptr) const;
    // The rooms `who` belongs to (member, manager or presenter, by name or group) and may
    // join now.
    std::vector<Listing> member_rooms(const Subject& who) const;
    // The room, if `who` may do `action` there.
    std::optional<Listing> room_for(const Subject& who, const std::string& node,
                                    Action action) const;
    struct CategoryView {
        std::string name;
        bool may_create = false;
    };
    std::vector<CategoryView> categories_for(const Subject& who) const;
    // The categories where `who` may create rooms.
    std::vector<std::string> creatable_categories(const Subject& who) const;
    // The rooms `who` may search: id -> node.
    std::map<int64_t, std::string> searchable_rooms(const Subject& who) const;
    bool may_read_room(const Subject& who, int64_t room_id) const;

  private:
    void put_locked(const store::Room& room, const RoomRules& rules);  // with mutex_ held
    bool allows(const Subject& who, const store::Room& room, const RoomRules& rules,
                Action action) const;  // with mutex_ held

    mutable std::mutex mutex_;
    std::map<std::string, Listing> rooms_;  // by node
    std::map<int64_t, std::string> nodes_;  // room id -> node
    std::map<int64_t, std::shared_ptr<const CategoryRules>> categories_;
    std::map<std::string, int64_t> category_ids_;  // name -> id
    std::map<std::string, std::string> addins_;    // name -> URL
    uint64_t puts_ = 0;
};

}  // namespace perch::chat
