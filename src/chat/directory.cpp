#include "chat/directory.hpp"

namespace perch::chat {

void Directory::load(store::Store& store) {
    std::map<int64_t, std::shared_ptr<const CategoryRules>> categories;
    std::map<std::string, int64_t> ids;
    for (auto& c : store.list_categories()) {
        categories[c.id] = std::make_shared<const CategoryRules>(
            category_rules(c, store.category_principals(c.id)));
        ids[c.name] = c.id;
    }
    std::map<std::string, Listing> rooms;
    std::map<int64_t, std::string> nodes;
    for (auto& r : store.list_rooms()) {
        auto rules = room_rules(r, store.room_principals(r.id));
        auto category = categories.find(r.category_id);
        nodes[r.id] = r.node;
        std::string node = r.node;
        rooms[node] = {std::move(r), std::move(rules),
                       category == categories.end() ? std::string() : category->second->name};
    }
    load_addins(store);
    std::lock_guard lock(mutex_);
    rooms_ = std::move(rooms);
    nodes_ = std::move(nodes);
    categories_ = std::move(categories);
    category_ids_ = std::move(ids);
}

void Directory::load_addins(store::Store& store) {
    std::map<std::string, std::string> urls;
    for (auto& a : store.list_addins()) urls[a.name] = a.url;
    std::lock_guard lock(mutex_);
    addins_ = std::move(urls);
}

std::string Directory::addin_url(const std::string& name) const {
    if (name.empty()) return {};
    std::lock_guard lock(mutex_);
    auto it = addins_.find(name);
    return it == addins_.end() ? std::string() : it->second;
}

void Directory::remove_category(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = category_ids_.find(name);
    if (it == category_ids_.end()) return;
    categories_.erase(it->second);
    category_ids_.erase(it);
}

std::map<std::string, std::string> Directory::addins() const {
    std::lock_guard lock(mutex_);
    return addins_;
}

void Directory::put_room(const store::Room& room, const RoomRules& rules) {
    std::lock_guard lock(mutex_);
    put_locked(room, rules);
}

void Directory::put_locked(const store::Room& room, const RoomRules& rules) {
    auto category = categories_.find(room.category_id);
    rooms_[room.node] = {room, rules,
                         category == categories_.end() ? std::string() : category->second->name,
                         ++puts_};
    nodes_[room.id] = room.node;
}

uint64_t Directory::stamp(const std::string& node) const {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(node);
    return it == rooms_.end() ? 0 : it->second.stamp;
}

bool Directory::put_room_if(const store::Room& room, const RoomRules& rules, uint64_t stamp) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room.node);
    if ((it == rooms_.end() ? 0 : it->second.stamp) != stamp) return false;
    put_locked(room, rules);
    return true;
}

void Directory::remove_room(const std::string& node) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(node);
    if (it == rooms_.end()) return;
    nodes_.erase(it->second.meta.id);
    rooms_.erase(it);
}

void Directory::put_category(int64_t id, std::shared_ptr<const CategoryRules> rules) {
    std::lock_guard lock(mutex_);
    // Every room load puts its category's rules: the listings are walked only when the name
    // is new or changed (a walk per load cost a pool server a fifth of its time while it
    // loaded its ~8,000 rooms of the capacity model). A renamed category keeps no stale name.
    auto known = categories_.find(id);
    if (known == categories_.end() || known->second->name != rules->name) {
        std::erase_if(category_ids_, [&](const auto& entry) { return entry.second == id; });
        category_ids_[rules->name] = id;
        for (auto& [node, listing] : rooms_)
            if (listing.meta.category_id == id) listing.category = rules->name;
    }
    categories_[id] = std::move(rules);
}

size_t Directory::room_count() const {
    std::lock_guard lock(mutex_);
    return rooms_.size();
}

std::optional<Directory::Listing> Directory::room(const std::string& node) const {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(node);
    if (it == rooms_.end()) return std::nullopt;
    return it->second;
}

std::shared_ptr<const CategoryRules> Directory::category(int64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = categories_.find(id);
    return it != categories_.end() ? it->second : std::make_shared<const CategoryRules>();
}

std::optional<std::pair<int64_t, std::shared_ptr<const CategoryRules>>> Directory::category_named(
    const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto id = category_ids_.find(name);
    if (id == category_ids_.end()) return std::nullopt;
    auto rules = categories_.find(id->second);
    if (rules == categories_.end()) return std::nullopt;
    return std::pair{id->second, rules->second};
}

bool Directory::allows(const Subject& who, const store::Room& room, const RoomRules& rules,
                       Action action) const {
    auto category = categories_.find(room.category_id);
    return category != categories_.end() && may(who, *category->second, rules, action);
}

std::vector<Directory::Listing> Directory::rooms_for(const Subject& who,
                                                     const std::string* category) const {
    std::vector<Listing> out;
    std::lock_guard lock(mutex_);
    for (const auto& [node, listing] : rooms_) {
        if (category && listing.category != *category) continue;
        if (allows(who, listing.meta, listing.rules, Action::find)) out.push_back(listing);
    }
    return out;
}

std::vector<Directory::Listing> Directory::member_rooms(const Subject& who) const {
    std::vector<Listing> out;
    std::lock_guard lock(mutex_);
    for (const auto& [node, listing] : rooms_)
        if (is_member(who, listing.rules) && allows(who, listing.meta, listing.rules, Action::join))
            out.push_back(listing);
    return out;
}

std::optional<Directory::Listing> Directory::room_for(const Subject& who, const std::string& node,
                                                      Action action) const {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(node);
    if (it == rooms_.end() || !allows(who, it->second.meta, it->second.rules, action))
        return std::nullopt;
    return it->second;
}

std::vector<Directory::CategoryView> Directory::categories_for(const Subject& who) const {
    std::vector<CategoryView> out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, id] : category_ids_) {
        auto rules = categories_.find(id);
        if (rules == categories_.end() || !(who.administrator || in_category(who, *rules->second)))
            continue;
        out.push_back({name, who.administrator || may_create_room(who, *rules->second)});
    }
    return out;
}

std::vector<std::string> Directory::creatable_categories(const Subject& who) const {
    std::vector<std::string> out;
    for (auto& c : categories_for(who))
        if (c.may_create) out.push_back(std::move(c.name));
    return out;
}

std::map<int64_t, std::string> Directory::searchable_rooms(const Subject& who) const {
    std::map<int64_t, std::string> out;
    std::lock_guard lock(mutex_);
    for (const auto& [node, listing] : rooms_)
        if (allows(who, listing.meta, listing.rules, Action::search)) out[listing.meta.id] = node;
    return out;
}

bool Directory::may_read_room(const Subject& who, int64_t room_id) const {
    std::lock_guard lock(mutex_);
    auto node = nodes_.find(room_id);
    if (node == nodes_.end()) return false;
    const auto& listing = rooms_.at(node->second);
    return allows(who, listing.meta, listing.rules, Action::read_history);
}

}  // namespace perch::chat
