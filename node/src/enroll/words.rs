//! The join code's word list: 256 short (3 to 7 letters), distinct English nouns that are
//! easy to say and spell, all lowercase ASCII. A word is one byte of the code (8 bits).
//! The student's binary checks a typed code against its own copy, so the list is part of
//! the enrollment protocol's version: changing it is a protocol change.

/// The words, in the order a code's random byte indexes them.
pub(super) const WORDS: [&str; 256] = [
    "acorn", "apple", "apron", "arrow", "aspen", "atlas", "bacon", "badge", "baker", "bamboo",
    "banjo", "basil", "beach", "beard", "beetle", "bell", "berry", "bike", "birch", "bison",
    "blade", "blimp", "bloom", "board", "boat", "bonus", "book", "boot", "bread", "brick", "bride",
    "brook", "broom", "brush", "bucket", "bugle", "bunny", "cabin", "cable", "cactus", "camel",
    "candy", "canoe", "cargo", "carrot", "castle", "cedar", "chair", "chalk", "cheese", "cherry",
    "chess", "chief", "cider", "circle", "clock", "cloud", "clover", "coast", "cobra", "cocoa",
    "comet", "coral", "corn", "cotton", "couch", "crab", "crane", "crayon", "cream", "cricket",
    "crown", "cube", "daisy", "dance", "delta", "denim", "desk", "diary", "dingo", "dock",
    "dolphin", "donut", "dove", "dragon", "drum", "duck", "eagle", "easel", "echo", "elbow",
    "elder", "elm", "ember", "emu", "fable", "falcon", "fancy", "farm", "feather", "fern", "ferry",
    "fiddle", "field", "fig", "flag", "flame", "flute", "foam", "forest", "fork", "fossil", "fox",
    "frog", "frost", "fudge", "garden", "garlic", "gecko", "gem", "ginger", "glass", "globe",
    "glove", "goat", "goose", "grape", "gravy", "guitar", "hammer", "harbor", "harp", "hazel",
    "heron", "hill", "honey", "hook", "horse", "hotel", "igloo", "iris", "island", "ivory",
    "jacket", "jade", "jelly", "jewel", "juice", "kayak", "kettle", "kite", "kiwi", "koala",
    "ladder", "lake", "lamb", "lamp", "lemon", "lily", "lime", "lion", "lobster", "lotus", "lunch",
    "magnet", "mango", "maple", "marble", "meadow", "melon", "mint", "mitten", "moon", "moose",
    "moss", "mouse", "muffin", "nectar", "needle", "nest", "noodle", "oak", "oasis", "ocean",
    "olive", "onion", "orange", "otter", "owl", "paddle", "panda", "paper", "parrot", "peach",
    "pearl", "pebble", "pencil", "pepper", "piano", "pickle", "pillow", "pine", "pizza", "planet",
    "plum", "pony", "poppy", "potato", "pumpkin", "puppy", "quail", "quilt", "rabbit", "radio",
    "raven", "ribbon", "river", "robin", "rocket", "rose", "ruby", "saddle", "salad", "salmon",
    "sandal", "seal", "shell", "silver", "skate", "sled", "snail", "spoon", "spruce", "squid",
    "star", "stone", "sugar", "summer", "sunset", "swan", "taco", "tiger", "toast", "tomato",
    "tulip", "turtle", "velvet", "violin", "wagon", "walnut", "whale", "willow", "window", "wolf",
    "yacht", "zebra",
];
