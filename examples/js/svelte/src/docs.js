// A few documents to search. A real app would load a store built by the
// vs-* programs (VecStore.load of a tar) or persisted earlier (VecStore.open).
export const docs = [
    { id: "apples", text: "Apples are crisp fruit picked in autumn from orchards.", metadata: { topic: "food" } },
    { id: "bread", text: "Bread rises when yeast ferments the dough before baking.", metadata: { topic: "food" } },
    { id: "rockets", text: "Rockets carry satellites into orbit around the earth.", metadata: { topic: "space" } },
    { id: "moon", text: "The moon reflects sunlight and pulls the ocean tides.", metadata: { topic: "space" } },
    { id: "whales", text: "Whales are mammals that sing and swim in every ocean.", metadata: { topic: "sea" } },
    { id: "coral", text: "Coral reefs grow in warm shallow sea water.", metadata: { topic: "sea" } },
];
