"""Vocabulary of the demo store: departments, leaf categories, brands, phrasings.

Plain data, no logic beyond a few lookups. Every leaf category describes what a
believable product of that kind looks like (product types and their synonyms,
attributes and their values, a price range, description and review vocabulary)
and how it relates to other leaves (``related``: substitutes that a search for it
may reasonably show, graded 1; ``complements``: bought together with it).

Query phrasings come in two disjoint sets: the *event* frames the simulated
shoppers type, and the *held-out* frames used only for the judged queries, so the
judged texts can never occur in the events.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# Departments (top-level categories) with their brands (name, price level 0..1)
# ---------------------------------------------------------------------------

DEPARTMENTS: list[dict] = [
    {
        "id": "electronics",
        "name": "Electronics",
        "brands": [
            ("Voltic", 0.25),
            ("Auralis", 0.75),
            ("Pixelon", 0.55),
            ("Nordtek", 0.15),
            ("Lumora", 0.9),
            ("Quanta", 0.45),
        ],
        "lines": [
            "Pulse",
            "Aero",
            "Nova",
            "Echo",
            "Vertex",
            "Orbit",
            "Flux",
            "Prism",
            "Zenith",
            "Spark",
            "Halo",
            "Arc",
            "Sonic",
            "Focus",
            "Vista",
            "Core",
        ],
        "suffixes": ["", "", "2", "3", "Pro", "Lite", "Max", "X", "S", "Mk II"],
        "closing": [
            "Ships with a {years}-year manufacturer warranty.",
            "Firmware updates are available through the {brand} app.",
            "USB-C cable and quick-start guide included.",
        ],
    },
    {
        "id": "home-kitchen",
        "name": "Home & Kitchen",
        "brands": [
            ("Casavia", 0.5),
            ("Brewhaus", 0.7),
            ("Hearthline", 0.35),
            ("Kettleby", 0.15),
            ("Maison Orla", 0.9),
            ("Stovia", 0.6),
        ],
        "lines": [
            "Classic",
            "Atelier",
            "Nordic",
            "Heritage",
            "Loft",
            "Provence",
            "Studio",
            "Essentials",
            "Artisan",
            "Bistro",
            "Harbor",
            "Linden",
            "Juniper",
            "Oslo",
        ],
        "suffixes": [""],
        "closing": [
            "Backed by a {years}-year guarantee from {brand}.",
            "A dependable pick for everyday home use.",
            "Designed in-house by the {brand} studio.",
        ],
    },
    {
        "id": "fashion",
        "name": "Fashion",
        "brands": [
            ("Urbanthread", 0.4),
            ("Velora", 0.85),
            ("Kinfolk & Co", 0.6),
            ("Stridewell", 0.5),
            ("Basico", 0.1),
            ("Northloom", 0.7),
        ],
        "lines": [
            "Metro",
            "Coast",
            "Drift",
            "Avenue",
            "Soho",
            "Marlow",
            "Riviera",
            "Harlow",
            "Breeze",
            "Union",
            "Ember",
            "Willow",
            "Dune",
            "Aster",
        ],
        "suffixes": [""],
        "closing": [
            "Check the size guide for the best fit.",
            "Free returns within 30 days.",
            "Part of the {brand} seasonal collection.",
        ],
    },
    {
        "id": "sports-outdoor",
        "name": "Sports & Outdoor",
        "brands": [
            ("Ridgeway", 0.55),
            ("Alpenkamm", 0.85),
            ("Trailmark", 0.4),
            ("Summitra", 0.7),
            ("Campfire Co", 0.15),
            ("Velo Nova", 0.6),
        ],
        "lines": [
            "Trailblazer",
            "Summit",
            "Scout",
            "Nomad",
            "Ascent",
            "Tundra",
            "Cascade",
            "Basecamp",
            "Horizon",
            "Granite",
            "Pathfinder",
            "Wildside",
            "Sierra",
            "Glacier",
        ],
        "suffixes": ["", "", "", "2", "GTX", "Lite", "Pro"],
        "closing": [
            "Field-tested by the {brand} team.",
            "Backed by a {years}-year warranty.",
            "Repair service available from {brand}.",
        ],
    },
    {
        "id": "beauty",
        "name": "Beauty",
        "brands": [
            ("Lumiskin", 0.6),
            ("Aurelle", 0.9),
            ("PureLeaf Botanics", 0.4),
            ("Dermaly", 0.5),
            ("Glowbox", 0.15),
            ("Maison Iris", 0.8),
        ],
        "lines": [
            "Hydra",
            "Velvet",
            "Bloom",
            "Radiance",
            "Pure",
            "Silk",
            "Dew",
            "Essence",
            "Botanica",
            "Luxe",
            "Calm",
            "Glow",
            "Petal",
            "Aqua",
        ],
        "suffixes": [""],
        "closing": [
            "Dermatologically tested.",
            "Not tested on animals.",
            "Made in Europe by {brand}.",
        ],
    },
    {
        "id": "toys",
        "name": "Toys & Games",
        "brands": [
            ("Brickly", 0.5),
            ("Playforge", 0.35),
            ("Tinytales", 0.2),
            ("Woodwise", 0.65),
            ("Gamewright Lane", 0.55),
            ("Cubbi", 0.3),
        ],
        "lines": [
            "Explorer",
            "Galaxy",
            "Jungle",
            "Harbour",
            "Rainbow",
            "Castle",
            "Rocket",
            "Meadow",
            "Dragon",
            "Safari",
            "Pirate",
            "Ocean",
            "Robot",
            "Forest",
        ],
        "suffixes": [""],
        "closing": [
            "Meets EU toy safety standards (EN 71).",
            "Not suitable for children under 3 years: small parts.",
            "A favourite at {brand} play-testing sessions.",
        ],
    },
    {
        "id": "grocery",
        "name": "Grocery",
        "brands": [
            ("Harvest Lane", 0.3),
            ("Origo Roasters", 0.75),
            ("Nutshell Pantry", 0.45),
            ("Verde Valley", 0.6),
            ("Basket Basics", 0.1),
            ("Monte Oliva", 0.8),
        ],
        "lines": [
            "Daily",
            "Reserve",
            "Morning Ritual",
            "Highland",
            "Classic",
            "Farmhouse",
            "Sunrise",
            "Estate",
            "Select",
            "Heritage",
            "Golden",
            "Wild Meadow",
        ],
        "suffixes": [""],
        "closing": [
            "Store in a cool, dry place.",
            "Packed in recyclable packaging.",
            "Sourced directly by {brand}.",
        ],
    },
    {
        "id": "books",
        "name": "Books",
        "brands": [
            ("Lantern Press", 0.5),
            ("Northwind Books", 0.6),
            ("Paperfox", 0.2),
            ("Atlas & Quill", 0.8),
            ("Little Acorn", 0.4),
            ("Meridian House", 0.55),
        ],
        "lines": [],  # books get generated titles instead of product lines
        "suffixes": [""],
        "closing": [
            "Published by {brand}.",
            "A great pick for a long weekend.",
            "Also available as an ebook from {brand}.",
        ],
        "model_first": True,  # the work title identifies the product; the publisher is secondary
    },
]

COLORS = ["black", "white", "grey", "navy", "red", "green", "blue", "beige"]

# ---------------------------------------------------------------------------
# Leaf categories
# ---------------------------------------------------------------------------


def _leaf(
    id_,
    dept,
    name,
    price,
    terms,
    types,
    attrs,
    key,
    features,
    uses,
    aspects,
    related=(),
    complements=(),
    repeat=None,
    weight=1.0,
):
    return {
        "id": id_,
        "dept": dept,
        "name": name,
        "price": price,
        "terms": list(terms),
        "types": types,
        "attrs": attrs,
        "key": list(key),
        "features": list(features),
        "uses": list(uses),
        "aspects": list(aspects),
        "related": list(related),
        "complements": list(complements),
        "repeat": repeat,
        "weight": weight,
    }


LEAVES: list[dict] = [
    # --- Electronics -------------------------------------------------------
    _leaf(
        "headphones",
        "electronics",
        "Headphones",
        (15, 380),
        ["headphones"],
        {
            "over-ear headphones": {
                "syn": ["over-ear headphones", "over ear headphones", "headset"]
            },
            "earbuds": {
                "syn": ["earbuds", "wireless earbuds", "in-ear headphones"],
                "attrs": {"connectivity": ["bluetooth"]},
            },
            "noise cancelling headphones": {
                "syn": ["noise cancelling headphones", "anc headphones"],
                "fixed": {"noise_cancelling": True},
                "attrs": {"connectivity": ["bluetooth"]},
            },
        },
        {
            "color": ["black", "white", "silver", "navy", "rose gold"],
            "connectivity": ["bluetooth", "bluetooth", "wired"],
            "noise_cancelling": [True, False, False],
        },
        ["color", "connectivity", "noise_cancelling"],
        [
            "40 mm drivers",
            "a foldable headband",
            "memory-foam ear cushions",
            "a built-in microphone for calls",
            "fast USB-C charging",
            "multipoint pairing",
        ],
        ["commuting", "long flights", "working from home", "the gym"],
        ["sound quality", "battery life", "comfort", "build quality", "microphone"],
        related=["phones"],
        complements=["phones"],
    ),
    _leaf(
        "cameras",
        "electronics",
        "Cameras",
        (120, 2400),
        ["camera", "cameras"],
        {
            "mirrorless camera": {"syn": ["mirrorless camera", "system camera"]},
            "action camera": {
                "syn": ["action camera", "action cam", "helmet camera"],
                "attrs": {"resolution": ["12 MP", "20 MP"]},
            },
            "compact camera": {
                "syn": ["compact camera", "point and shoot camera", "digital camera"]
            },
        },
        {
            "color": ["black", "silver", "graphite"],
            "resolution": ["20 MP", "24 MP", "33 MP", "45 MP"],
            "video": ["4K", "4K", "1080p", "6K"],
        },
        ["color", "resolution", "video"],
        [
            "in-body image stabilisation",
            "a weather-sealed body",
            "fast hybrid autofocus",
            "a tilting touchscreen",
            "dual card slots",
            "an electronic viewfinder",
        ],
        ["travel photography", "vlogging", "family holidays", "street photography"],
        ["image quality", "autofocus", "battery life", "ergonomics", "video quality"],
        related=["memory-cards"],
        complements=["memory-cards"],
        weight=0.8,
    ),
    _leaf(
        "memory-cards",
        "electronics",
        "Memory cards",
        (6, 95),
        ["memory card", "memory cards"],
        {
            "SD card": {"syn": ["sd card", "sdxc card"]},
            "microSD card": {"syn": ["microsd card", "micro sd card"]},
        },
        {
            "capacity": ["32 GB", "64 GB", "128 GB", "256 GB", "512 GB"],
            "speed": ["UHS-I U3", "UHS-II V90", "Class 10"],
        },
        ["capacity", "speed"],
        [
            "a lifetime data-recovery service",
            "write speeds for 4K video",
            "shock- and water-proof housing",
            "an SD adapter",
        ],
        ["cameras and drones", "action cameras", "phones and tablets"],
        ["transfer speed", "reliability", "capacity", "value for money"],
        related=["phone-accessories"],
        complements=["cameras"],
        weight=0.6,
    ),
    _leaf(
        "phones",
        "electronics",
        "Smartphones",
        (120, 1300),
        ["smartphone", "mobile phone"],
        {
            "smartphone": {"syn": ["smartphone", "cell phone", "android phone"]},
            "5G phone": {"syn": ["5g phone", "5g smartphone"]},
            "rugged phone": {
                "syn": ["rugged phone", "outdoor phone"],
                "attrs": {"color": ["black", "orange", "olive"]},
            },
        },
        {
            "color": ["black", "white", "blue", "green", "titanium"],
            "storage": ["64 GB", "128 GB", "256 GB", "512 GB"],
            "screen": ["6.1 inch", "6.4 inch", "6.7 inch"],
        },
        ["color", "storage", "screen"],
        [
            "a triple-lens camera",
            "a 120 Hz OLED display",
            "all-day battery",
            "wireless charging",
            "an IP68 rating",
            "dual SIM support",
        ],
        ["busy days on the go", "mobile photography", "gaming", "work and travel"],
        ["camera", "battery life", "screen", "performance", "build quality"],
        related=["phone-accessories"],
        complements=["phone-accessories", "headphones"],
    ),
    _leaf(
        "phone-accessories",
        "electronics",
        "Phone accessories",
        (6, 70),
        ["phone accessories"],
        {
            "phone case": {
                "syn": ["phone case", "phone cover", "protective case"],
                "attrs": {"material": ["silicone", "leather", "polycarbonate"]},
            },
            "screen protector": {
                "syn": ["screen protector", "tempered glass protector"],
                "attrs": {"material": ["tempered glass"], "color": ["clear"]},
            },
            "charger": {
                "syn": ["phone charger", "usb-c charger", "fast charger"],
                "attrs": {
                    "material": None,
                    "color": ["black", "white"],
                    "power": ["20 W", "30 W", "65 W"],
                },
            },
        },
        {"color": ["black", "clear", "blue", "red", "pink"], "material": ["silicone"]},
        ["color", "material", "power"],
        [
            "raised edges that protect the camera",
            "precise cut-outs",
            "a slim profile",
            "drop protection up to 2 m",
            "an anti-fingerprint coating",
        ],
        ["everyday protection", "travel", "the office"],
        ["fit", "durability", "grip", "value for money"],
        related=["memory-cards"],
        complements=["phones"],
        weight=0.8,
    ),
    # --- Home & Kitchen ------------------------------------------------------
    _leaf(
        "coffee-machines",
        "home-kitchen",
        "Coffee machines",
        (35, 950),
        ["coffee machine", "coffee machines"],
        {
            "espresso machine": {"syn": ["espresso machine", "espresso maker"]},
            "bean-to-cup machine": {"syn": ["bean to cup machine", "automatic coffee machine"]},
            "drip coffee maker": {
                "syn": ["drip coffee maker", "filter coffee machine"],
                "attrs": {"pressure": None},
            },
        },
        {
            "color": ["black", "stainless steel", "red", "cream", "white"],
            "capacity": ["1.2 l", "1.5 l", "1.8 l"],
            "pressure": ["15 bar", "19 bar"],
        },
        ["color", "capacity", "pressure"],
        [
            "a steam wand for milk foam",
            "a removable water tank",
            "a built-in burr grinder",
            "programmable cup sizes",
            "a quick heat-up system",
            "an auto-off timer",
        ],
        ["morning lattes", "busy households", "small kitchens", "office coffee breaks"],
        ["coffee taste", "milk frothing", "noise", "ease of cleaning", "build quality"],
        complements=["coffee-tea"],
        weight=0.8,
    ),
    _leaf(
        "cookware",
        "home-kitchen",
        "Cookware",
        (12, 260),
        ["cookware", "pots and pans"],
        {
            "frying pan": {"syn": ["frying pan", "skillet", "fry pan"]},
            "saucepan": {"syn": ["saucepan", "sauce pot"]},
            "casserole dish": {
                "syn": ["casserole dish", "dutch oven", "cocotte"],
                "attrs": {"material": ["cast iron", "enamelled cast iron"]},
            },
        },
        {
            "material": ["cast iron", "stainless steel", "non-stick aluminium", "copper"],
            "size": ["20 cm", "24 cm", "28 cm"],
            "induction": [True, True, False],
        },
        ["material", "size", "induction"],
        [
            "an ergonomic stay-cool handle",
            "a tri-ply base for even heating",
            "an oven-safe design up to 250 °C",
            "a tight-fitting glass lid",
            "riveted handles",
        ],
        ["everyday cooking", "searing steaks", "family dinners", "slow braises"],
        ["heat distribution", "coating", "weight", "handle", "ease of cleaning"],
        related=["cookbooks"],
        complements=["cookbooks"],
    ),
    _leaf(
        "bedding",
        "home-kitchen",
        "Bedding",
        (12, 190),
        ["bedding", "bed linen"],
        {
            "duvet cover": {"syn": ["duvet cover", "quilt cover"]},
            "pillow": {
                "syn": ["pillow", "bed pillow"],
                "attrs": {"material": ["memory foam", "down", "microfibre"], "color": ["white"]},
            },
            "sheet set": {"syn": ["bed sheet set", "sheet set", "fitted sheets"]},
        },
        {
            "material": ["cotton", "linen", "bamboo", "egyptian cotton"],
            "size": ["single", "double", "king"],
            "color": ["white", "grey", "sage green", "navy", "sand"],
        },
        ["material", "size", "color"],
        [
            "a 400 thread count weave",
            "hidden button closures",
            "OEKO-TEX certified fabric",
            "deep pockets that fit thick mattresses",
        ],
        ["restful nights", "guest rooms", "hot sleepers", "cosy winters"],
        ["softness", "breathability", "fit", "durability after washing"],
        related=["lighting"],
        complements=["lighting"],
    ),
    _leaf(
        "lighting",
        "home-kitchen",
        "Lighting",
        (10, 280),
        ["lamp", "lamps", "lighting"],
        {
            "desk lamp": {"syn": ["desk lamp", "reading lamp", "table lamp"]},
            "floor lamp": {"syn": ["floor lamp", "standing lamp"]},
            "smart bulb": {
                "syn": ["smart bulb", "smart light bulb", "wifi bulb"],
                "attrs": {"color": ["white", "multicolour"], "dimmable": [True]},
            },
        },
        {"color": ["black", "white", "brass", "oak"], "dimmable": [True, False]},
        ["color", "dimmable"],
        [
            "an adjustable arm",
            "warm-to-cool colour temperature",
            "a weighted base",
            "voice-assistant support",
            "an energy-efficient LED",
        ],
        ["reading corners", "home offices", "living rooms", "bedside tables"],
        ["brightness", "light colour", "design", "stability"],
        related=["bedding"],
        weight=0.8,
    ),
    # --- Fashion -------------------------------------------------------------
    _leaf(
        "sneakers",
        "fashion",
        "Sneakers",
        (35, 230),
        ["sneakers", "trainers"],
        {
            "running shoes": {
                "syn": ["running shoes", "running trainers", "jogging shoes"],
                "attrs": {"material": ["mesh", "knit"]},
            },
            "casual sneakers": {"syn": ["casual sneakers", "lifestyle sneakers"]},
            "court sneakers": {
                "syn": ["court sneakers", "tennis shoes", "low top sneakers"],
                "attrs": {"material": ["leather", "suede", "canvas"]},
            },
        },
        {
            "gender": ["men", "women", "unisex"],
            "color": ["white", "black", "grey", "navy", "red", "beige"],
            "material": ["mesh", "leather", "knit", "suede"],
            "size": ["EU 38", "EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"],
        },
        ["gender", "color", "material"],
        [
            "a responsive foam midsole",
            "a breathable upper",
            "a grippy rubber outsole",
            "a padded heel collar",
            "reflective details",
        ],
        ["daily runs", "city walks", "the gym", "weekend errands"],
        ["fit", "cushioning", "grip", "breathability", "style"],
        related=["hiking-footwear"],
        complements=["socks"],
        weight=1.3,
    ),
    _leaf(
        "jackets",
        "fashion",
        "Jackets",
        (35, 420),
        ["jacket", "jackets", "coat"],
        {
            "rain jacket": {
                "syn": ["rain jacket", "raincoat", "waterproof jacket"],
                "attrs": {"material": ["nylon", "recycled polyester"]},
            },
            "puffer jacket": {
                "syn": ["puffer jacket", "down jacket", "quilted jacket"],
                "attrs": {"material": ["down fill", "synthetic fill"]},
            },
            "denim jacket": {
                "syn": ["denim jacket", "jean jacket"],
                "attrs": {"material": ["denim"], "color": ["light blue", "dark blue", "black"]},
            },
        },
        {
            "gender": ["men", "women", "unisex"],
            "color": ["black", "navy", "olive", "red", "camel", "yellow"],
            "material": ["nylon"],
            "size": ["XS", "S", "M", "L", "XL", "XXL"],
        },
        ["gender", "color", "material"],
        [
            "a detachable hood",
            "taped seams",
            "zipped hand pockets",
            "an adjustable hem",
            "a packable design",
        ],
        ["rainy commutes", "winter city days", "weekend trips", "festival season"],
        ["warmth", "fit", "waterproofing", "pockets", "zip quality"],
        related=["dresses"],
        weight=1.1,
    ),
    _leaf(
        "dresses",
        "fashion",
        "Dresses",
        (20, 240),
        ["dress", "dresses"],
        {
            "summer dress": {"syn": ["summer dress", "sundress"]},
            "maxi dress": {"syn": ["maxi dress", "long dress"]},
            "wrap dress": {"syn": ["wrap dress"]},
        },
        {
            "color": ["black", "navy", "floral print", "red", "white", "emerald"],
            "material": ["cotton", "linen", "viscose", "silk"],
            "size": ["XS", "S", "M", "L", "XL"],
        },
        ["color", "material"],
        [
            "a flattering A-line cut",
            "adjustable straps",
            "side pockets",
            "a fully lined skirt",
            "a tie waist",
        ],
        ["summer weddings", "office days", "beach holidays", "evenings out"],
        ["fit", "fabric", "length", "colour"],
        related=["bags"],
        complements=["bags"],
    ),
    _leaf(
        "bags",
        "fashion",
        "Bags",
        (18, 320),
        ["bag", "bags"],
        {
            "backpack": {"syn": ["backpack", "rucksack", "daypack"]},
            "tote bag": {"syn": ["tote bag", "shopper bag"]},
            "crossbody bag": {"syn": ["crossbody bag", "shoulder bag", "sling bag"]},
        },
        {
            "material": ["leather", "canvas", "nylon", "vegan leather"],
            "color": ["black", "tan", "olive", "navy", "burgundy"],
        },
        ["material", "color"],
        [
            "a padded laptop sleeve",
            "adjustable straps",
            "a hidden anti-theft pocket",
            "water-repellent fabric",
            "magnetic closures",
        ],
        ["commuting", "weekend trips", "everyday errands", "university"],
        ["capacity", "straps", "material", "zips"],
        related=["dresses"],
        complements=["dresses"],
    ),
    _leaf(
        "socks",
        "fashion",
        "Socks",
        (4, 25),
        ["socks"],
        {
            "sports socks": {"syn": ["sports socks", "running socks", "athletic socks"]},
            "wool socks": {
                "syn": ["wool socks", "merino socks", "hiking socks"],
                "attrs": {"color": ["grey", "charcoal", "green"]},
            },
        },
        {
            "color": ["white", "black", "grey", "navy"],
            "size": ["S", "M", "L"],
            "pack": ["single pair", "3-pack", "5-pack"],
        },
        ["color", "pack"],
        ["cushioned soles", "reinforced heels and toes", "arch support", "moisture-wicking yarn"],
        ["running", "hiking", "everyday wear"],
        ["comfort", "durability", "fit"],
        related=["sneakers"],
        complements=["sneakers", "hiking-footwear"],
        repeat=(25, 60),
        weight=0.6,
    ),
    # --- Sports & Outdoor ----------------------------------------------------
    _leaf(
        "hiking-footwear",
        "sports-outdoor",
        "Hiking footwear",
        (55, 230),
        ["hiking shoes", "hiking footwear"],
        {
            "hiking boots": {"syn": ["hiking boots", "trekking boots", "walking boots"]},
            "trail shoes": {
                "syn": ["trail shoes", "trail running shoes", "approach shoes"],
                "attrs": {"material": ["synthetic", "mesh"]},
            },
        },
        {
            "gender": ["men", "women"],
            "material": ["leather", "suede", "synthetic"],
            "color": ["brown", "black", "grey", "olive", "blue"],
            "waterproof": [True, True, False],
        },
        ["gender", "material", "color", "waterproof"],
        [
            "a grippy lugged outsole",
            "a padded ankle collar",
            "a protective rubber toe cap",
            "a breathable membrane",
            "a cushioned EVA midsole",
        ],
        ["day hikes", "muddy trails", "alpine treks", "long-distance walking"],
        ["grip", "waterproofing", "ankle support", "comfort", "break-in time"],
        related=["sneakers"],
        complements=["socks"],
        weight=1.1,
    ),
    _leaf(
        "tents",
        "sports-outdoor",
        "Tents",
        (45, 650),
        ["tent", "tents"],
        {
            "backpacking tent": {
                "syn": ["backpacking tent", "lightweight tent", "hiking tent"],
                "attrs": {"capacity": ["1-person", "2-person"]},
            },
            "family tent": {
                "syn": ["family tent", "camping tent", "large tent"],
                "attrs": {"capacity": ["4-person", "6-person"], "season": ["3-season"]},
            },
            "pop-up tent": {
                "syn": ["pop up tent", "festival tent", "instant tent"],
                "attrs": {"capacity": ["2-person", "4-person"], "season": ["3-season"]},
            },
        },
        {
            "capacity": ["2-person"],
            "season": ["3-season", "3-season", "4-season"],
            "color": ["green", "orange", "grey", "blue"],
        },
        ["capacity", "season", "color"],
        [
            "colour-coded poles",
            "a full-coverage rainfly",
            "two vestibules",
            "a bathtub floor",
            "mesh panels for ventilation",
        ],
        ["backpacking trips", "family camping", "festivals", "wild camping"],
        ["setup", "weight", "waterproofing", "space", "ventilation"],
        related=["sleeping-bags"],
        complements=["sleeping-bags"],
    ),
    _leaf(
        "sleeping-bags",
        "sports-outdoor",
        "Sleeping bags & mats",
        (25, 380),
        ["sleeping gear"],
        {
            "sleeping bag": {"syn": ["sleeping bag", "mummy sleeping bag"]},
            "sleeping mat": {
                "syn": ["sleeping mat", "sleeping pad", "camping mat"],
                "attrs": {
                    "fill": None,
                    "comfort_temp": None,
                    "thickness": ["3 cm", "5 cm", "8 cm"],
                },
            },
        },
        {
            "fill": ["down", "synthetic"],
            "comfort_temp": ["+10 °C", "+5 °C", "0 °C", "-5 °C"],
            "color": ["green", "orange", "blue", "black"],
        },
        ["fill", "comfort_temp", "thickness"],
        [
            "a compression stuff sack",
            "a two-way zip",
            "a draught collar",
            "a built-in pillow pocket",
            "a self-inflating valve",
        ],
        ["summer camping", "alpine huts", "backpacking", "festivals"],
        ["warmth", "packed size", "comfort", "zip"],
        related=["tents"],
        complements=["tents"],
        weight=0.8,
    ),
    _leaf(
        "fitness",
        "sports-outdoor",
        "Fitness",
        (8, 180),
        ["fitness equipment", "home gym"],
        {
            "yoga mat": {
                "syn": ["yoga mat", "exercise mat", "pilates mat"],
                "attrs": {"material": ["TPE", "natural rubber", "cork"]},
            },
            "dumbbells": {
                "syn": ["dumbbells", "dumbbell set", "hand weights"],
                "attrs": {
                    "material": ["cast iron", "neoprene"],
                    "weight": ["2 kg", "5 kg", "10 kg", "20 kg"],
                    "color": ["black", "grey", "pink"],
                },
            },
            "resistance bands": {
                "syn": ["resistance bands", "exercise bands"],
                "attrs": {"material": ["latex", "fabric"], "level": ["light", "medium", "heavy"]},
            },
        },
        {"color": ["purple", "black", "teal", "pink", "grey"], "material": ["TPE"]},
        ["material", "color", "weight", "level"],
        [
            "a non-slip surface",
            "a carrying strap",
            "an exercise guide",
            "anti-roll hexagonal ends",
            "sweat-resistant grips",
        ],
        ["home workouts", "yoga classes", "strength training", "physio exercises"],
        ["grip", "durability", "thickness", "value for money"],
        related=["sneakers"],
        complements=["socks"],
    ),
    _leaf(
        "cycling",
        "sports-outdoor",
        "Cycling",
        (10, 260),
        ["cycling gear", "bike accessories"],
        {
            "bike helmet": {"syn": ["bike helmet", "cycling helmet", "bicycle helmet"]},
            "bike light": {
                "syn": ["bike light", "bicycle light", "led bike light"],
                "attrs": {"size": None, "lumen": ["200 lm", "400 lm", "800 lm"]},
            },
            "cycling gloves": {"syn": ["cycling gloves", "bike gloves"]},
        },
        {"color": ["black", "white", "neon yellow", "red", "blue"], "size": ["S", "M", "L"]},
        ["color", "lumen"],
        [
            "MIPS impact protection",
            "USB rechargeable battery",
            "a quick-release mount",
            "gel padding",
            "reflective accents",
        ],
        ["commuting", "road cycling", "mountain biking", "night rides"],
        ["fit", "brightness", "ventilation", "mounting"],
        related=["fitness"],
        weight=0.8,
    ),
    # --- Beauty ----------------------------------------------------------------
    _leaf(
        "skincare",
        "beauty",
        "Skincare",
        (6, 95),
        ["skincare", "skin care"],
        {
            "moisturiser": {"syn": ["moisturiser", "moisturizer", "face cream"]},
            "face serum": {
                "syn": ["face serum", "serum", "vitamin c serum"],
                "attrs": {"size": ["15 ml", "30 ml"]},
            },
            "cleanser": {"syn": ["cleanser", "face wash", "cleansing gel"]},
        },
        {
            "skin_type": ["dry", "oily", "combination", "sensitive", "normal"],
            "size": ["30 ml", "50 ml", "100 ml", "200 ml"],
            "fragrance_free": [True, False],
        },
        ["skin_type", "fragrance_free"],
        [
            "hyaluronic acid",
            "niacinamide",
            "a lightweight gel texture",
            "SPF 30",
            "ceramides",
            "soothing aloe vera",
        ],
        ["morning routines", "sensitive days", "dry winter skin", "oily summer skin"],
        ["texture", "scent", "results", "absorption", "packaging"],
        related=["makeup"],
        complements=["makeup"],
        repeat=(25, 50),
    ),
    _leaf(
        "haircare",
        "beauty",
        "Hair care",
        (4, 45),
        ["hair care", "haircare"],
        {
            "shampoo": {"syn": ["shampoo", "hair wash"]},
            "conditioner": {"syn": ["conditioner", "hair conditioner"]},
            "hair mask": {"syn": ["hair mask", "hair treatment"]},
        },
        {
            "hair_type": ["dry", "oily", "curly", "colour-treated", "normal"],
            "size": ["250 ml", "400 ml", "1 l"],
        },
        ["hair_type"],
        [
            "argan oil",
            "keratin",
            "a sulphate-free formula",
            "tea tree extract",
            "a salon-grade formula",
        ],
        ["daily washing", "damaged hair", "frizz control", "after colouring"],
        ["scent", "lather", "softness", "results"],
        related=["skincare"],
        complements=["haircare"],
        repeat=(20, 45),
        weight=0.8,
    ),
    _leaf(
        "fragrance",
        "beauty",
        "Fragrance",
        (18, 190),
        ["fragrance", "perfume"],
        {
            "eau de parfum": {"syn": ["eau de parfum", "parfum"]},
            "eau de toilette": {"syn": ["eau de toilette", "cologne", "edt"]},
        },
        {
            "gender": ["men", "women", "unisex"],
            "scent": ["citrus", "woody", "floral", "fresh", "oriental"],
            "size": ["30 ml", "50 ml", "100 ml"],
        },
        ["gender", "scent"],
        [
            "top notes of bergamot",
            "a warm amber base",
            "a refillable glass bottle",
            "a heart of jasmine",
            "notes of cedarwood",
        ],
        ["everyday wear", "evenings out", "gifting", "summer days"],
        ["scent", "longevity", "projection", "bottle"],
        related=["skincare"],
        weight=0.8,
    ),
    _leaf(
        "makeup",
        "beauty",
        "Makeup",
        (5, 60),
        ["makeup", "make-up"],
        {
            "lipstick": {
                "syn": ["lipstick", "lip colour"],
                "attrs": {"shade": ["nude", "classic red", "berry", "coral", "pink"]},
            },
            "mascara": {
                "syn": ["mascara", "lash mascara"],
                "attrs": {"shade": ["black", "brown"], "finish": ["volumising", "lengthening"]},
            },
            "foundation": {"syn": ["foundation", "liquid foundation"]},
        },
        {"shade": ["fair", "light", "medium", "tan", "deep"], "finish": ["matte", "satin", "dewy"]},
        ["shade", "finish"],
        [
            "long-wear pigments",
            "vitamin E",
            "a buildable formula",
            "a precision applicator",
            "a smudge-proof finish",
        ],
        ["everyday looks", "evenings out", "long office days", "weddings"],
        ["pigment", "wear time", "texture", "shade range"],
        related=["skincare"],
        complements=["skincare"],
        repeat=(35, 70),
    ),
    # --- Toys ------------------------------------------------------------------
    _leaf(
        "building-sets",
        "toys",
        "Building sets",
        (8, 220),
        ["building toys", "construction toys"],
        {
            "building blocks set": {
                "syn": ["building blocks", "building set", "construction bricks"]
            },
            "marble run": {"syn": ["marble run", "marble track"]},
            "magnetic tiles": {
                "syn": ["magnetic tiles", "magnet blocks"],
                "attrs": {"theme": None},
            },
        },
        {
            "age": ["3+", "6+", "8+", "12+"],
            "pieces": ["100 pieces", "250 pieces", "500 pieces", "1000 pieces"],
            "theme": ["space", "city", "castle", "animals", "vehicles"],
        },
        ["age", "theme", "pieces"],
        [
            "compatible bricks",
            "illustrated step-by-step instructions",
            "a storage box",
            "glow-in-the-dark parts",
            "motorised elements",
        ],
        ["rainy afternoons", "STEM learning", "birthday gifts", "family building sessions"],
        ["instructions", "piece quality", "fun", "value for money"],
        related=["puzzles"],
        weight=0.9,
    ),
    _leaf(
        "board-games",
        "toys",
        "Board games",
        (10, 85),
        ["games", "board games"],
        {
            "board game": {"syn": ["board game", "family board game"]},
            "card game": {"syn": ["card game", "party card game"]},
            "strategy game": {"syn": ["strategy game", "strategy board game"]},
        },
        {
            "players": ["2 players", "2-4 players", "2-6 players", "3-8 players"],
            "age": ["6+", "8+", "10+", "14+"],
            "play_time": ["20 min", "45 min", "90 min"],
        },
        ["players", "age"],
        [
            "beautifully illustrated cards",
            "wooden playing pieces",
            "a quick-start rulebook",
            "a solo mode",
            "expansion-ready components",
        ],
        ["game nights", "family evenings", "parties", "two-player duels"],
        ["rules", "replay value", "component quality", "fun"],
        related=["puzzles"],
        complements=["snacks"],
        weight=0.9,
    ),
    _leaf(
        "plush-toys",
        "toys",
        "Plush toys",
        (7, 60),
        ["soft toys", "cuddly toys"],
        {
            "teddy bear": {"syn": ["teddy bear", "teddy"], "fixed": {"animal": "bear"}},
            "plush toy": {"syn": ["plush toy", "stuffed animal"]},
        },
        {
            "color": ["brown", "cream", "pink", "blue", "grey"],
            "size": ["20 cm", "30 cm", "45 cm", "80 cm"],
            "animal": ["bunny", "dinosaur", "unicorn", "elephant", "fox"],
        },
        ["animal", "color", "size"],
        ["super-soft recycled fibres", "embroidered eyes", "a machine-washable body", "a gift box"],
        ["bedtime cuddles", "newborn gifts", "nursery decor"],
        ["softness", "stitching", "size", "washability"],
        related=["building-sets"],
        weight=0.7,
    ),
    _leaf(
        "puzzles",
        "toys",
        "Puzzles",
        (6, 45),
        ["puzzles"],
        {
            "jigsaw puzzle": {"syn": ["jigsaw puzzle", "jigsaw"]},
            "3D puzzle": {
                "syn": ["3d puzzle", "3d jigsaw"],
                "attrs": {"pieces": ["100 pieces", "250 pieces"]},
            },
        },
        {
            "pieces": ["500 pieces", "1000 pieces", "1500 pieces", "2000 pieces"],
            "theme": ["landscape", "world map", "fine art", "animals", "city skyline"],
        },
        ["pieces", "theme"],
        [
            "thick blue-board pieces",
            "a poster of the motif",
            "a matte anti-glare finish",
            "random-cut pieces",
        ],
        ["quiet evenings", "family weekends", "rainy holidays"],
        ["piece fit", "print quality", "difficulty", "box"],
        related=["board-games"],
        weight=0.7,
    ),
    # --- Grocery ---------------------------------------------------------------
    _leaf(
        "coffee-tea",
        "grocery",
        "Coffee & tea",
        (3, 38),
        ["coffee", "tea"],
        {
            "coffee beans": {"syn": ["coffee beans", "whole bean coffee", "espresso beans"]},
            "ground coffee": {"syn": ["ground coffee", "filter coffee"]},
            "loose leaf tea": {
                "syn": ["loose leaf tea", "loose tea"],
                "attrs": {
                    "roast": None,
                    "tea": ["green", "black", "earl grey", "chamomile"],
                    "origin": ["India", "China", "Japan", "Sri Lanka"],
                    "weight": ["100 g", "250 g"],
                },
            },
        },
        {
            "roast": ["light", "medium", "dark"],
            "weight": ["250 g", "500 g", "1 kg"],
            "origin": ["Colombia", "Ethiopia", "Brazil", "Guatemala", "Kenya"],
            "organic": [True, False],
        },
        ["roast", "origin", "tea", "organic"],
        [
            "notes of dark chocolate",
            "a bright citrus acidity",
            "a smooth, nutty finish",
            "single-origin beans",
            "a resealable valve bag",
        ],
        ["espresso", "filter brewing", "slow mornings", "afternoon breaks"],
        ["flavour", "aroma", "freshness", "packaging"],
        related=["coffee-machines"],
        complements=["coffee-machines"],
        repeat=(12, 30),
        weight=1.2,
    ),
    _leaf(
        "snacks",
        "grocery",
        "Snacks",
        (1.5, 14),
        ["snacks"],
        {
            "dark chocolate": {"syn": ["dark chocolate", "chocolate bar"]},
            "granola": {"syn": ["granola", "muesli"]},
            "mixed nuts": {"syn": ["mixed nuts", "nut mix", "trail mix"]},
        },
        {
            "diet": ["vegan", "gluten-free", "organic", "regular"],
            "weight": ["100 g", "250 g", "500 g"],
            "flavour": ["sea salt", "honey", "almond", "berry", "original"],
        },
        ["diet", "flavour"],
        ["no added sugar", "whole roasted nuts", "fair-trade cocoa", "crunchy clusters"],
        ["breakfast", "hiking snacks", "movie nights", "the office drawer"],
        ["taste", "crunch", "sweetness", "freshness"],
        related=["coffee-tea"],
        complements=["board-games"],
        repeat=(10, 25),
    ),
    _leaf(
        "pantry",
        "grocery",
        "Pantry",
        (1.2, 28),
        ["pantry staples", "groceries"],
        {
            "olive oil": {
                "syn": ["olive oil", "extra virgin olive oil"],
                "attrs": {
                    "size": ["500 ml", "750 ml", "1 l"],
                    "origin": ["Italy", "Spain", "Greece"],
                },
            },
            "pasta": {
                "syn": ["pasta", "spaghetti", "dried pasta"],
                "attrs": {"size": ["500 g", "1 kg"], "origin": ["Italy"]},
            },
            "basmati rice": {
                "syn": ["basmati rice", "rice"],
                "attrs": {"size": ["1 kg", "2 kg", "5 kg"], "origin": ["India", "Pakistan"]},
            },
        },
        {"size": ["1 kg"], "origin": ["Italy"], "organic": [True, False, False]},
        ["origin", "organic", "size"],
        ["cold-pressed olives", "bronze-die extrusion", "aged grains", "a single harvest"],
        ["weeknight dinners", "family cooking", "meal prep"],
        ["taste", "quality", "packaging", "value for money"],
        related=["cookware"],
        complements=["pantry"],
        repeat=(14, 40),
    ),
    # --- Books -----------------------------------------------------------------
    _leaf(
        "fiction",
        "books",
        "Fiction",
        (5, 32),
        ["books", "novels"],
        {
            "thriller": {"syn": ["thriller", "crime novel", "mystery novel"]},
            "fantasy novel": {"syn": ["fantasy novel", "fantasy book"]},
            "literary novel": {"syn": ["literary fiction", "novel"]},
        },
        {
            "format": ["paperback", "paperback", "hardcover", "ebook", "audiobook"],
            "language": ["English", "English", "German", "French", "Spanish"],
        },
        ["format", "language"],
        [
            "a twist you will not see coming",
            "richly drawn characters",
            "short, gripping chapters",
            "a sweeping multi-generational story",
        ],
        ["long train journeys", "beach holidays", "book clubs", "cosy evenings"],
        ["plot", "characters", "pacing", "ending", "writing"],
        related=["travel-guides"],
        weight=1.3,
    ),
    _leaf(
        "cookbooks",
        "books",
        "Cookbooks",
        (9, 45),
        ["cookbooks", "recipe books"],
        {
            "cookbook": {"syn": ["cookbook", "recipe book", "cook book"]},
            "baking book": {
                "syn": ["baking book", "baking cookbook"],
                "attrs": {"cuisine": ["bread", "cakes", "pastry"]},
            },
        },
        {
            "cuisine": ["italian", "vegan", "asian", "mediterranean", "weeknight", "french"],
            "format": ["paperback", "hardcover", "ebook"],
        },
        ["cuisine", "format"],
        [
            "over 100 tested recipes",
            "step-by-step photography",
            "a chapter on basics",
            "seasonal menus",
            "tips from professional kitchens",
        ],
        ["weeknight dinners", "dinner parties", "beginner cooks", "weekend baking"],
        ["recipes", "photos", "instructions", "variety"],
        related=["cookware"],
        complements=["cookware"],
        weight=0.8,
    ),
    _leaf(
        "travel-guides",
        "books",
        "Travel guides",
        (8, 38),
        ["travel books"],
        {
            "travel guide": {"syn": ["travel guide", "guidebook"]},
            "hiking guide": {"syn": ["hiking guide", "trail guide", "walking guide"]},
        },
        {
            "region": ["alps", "scandinavia", "iceland", "scotland", "japan", "portugal"],
            "format": ["paperback", "ebook"],
        },
        ["region", "format"],
        [
            "fold-out maps",
            "day-by-day itineraries",
            "insider tips from locals",
            "route profiles with elevation",
            "budget advice",
        ],
        ["trip planning", "long weekends", "multi-day treks", "road trips"],
        ["maps", "accuracy", "detail", "layout"],
        related=["hiking-footwear"],
        weight=0.7,
    ),
    _leaf(
        "childrens-books",
        "books",
        "Children's books",
        (4, 22),
        ["kids books", "children's books"],
        {
            "picture book": {"syn": ["picture book", "bedtime story book"]},
            "early reader": {"syn": ["early reader", "first reader book"]},
            "activity book": {"syn": ["activity book", "sticker book"]},
        },
        {"age": ["0-3", "3-5", "5-7", "7-9"], "format": ["hardcover", "paperback", "board book"]},
        ["age", "format"],
        [
            "bright illustrations",
            "rhyming text",
            "lift-the-flap pages",
            "a gentle bedtime message",
            "over 200 stickers",
        ],
        ["bedtime reading", "first readers", "rainy days", "long car journeys"],
        ["illustrations", "story", "durability", "age fit"],
        related=["plush-toys"],
        complements=["plush-toys"],
        weight=0.8,
    ),
]

LEAF_BY_ID: dict[str, dict] = {leaf["id"]: leaf for leaf in LEAVES}
DEPT_BY_ID: dict[str, dict] = {dept["id"]: dept for dept in DEPARTMENTS}

# ---------------------------------------------------------------------------
# Rendering of attributes
# ---------------------------------------------------------------------------

# attribute -> (format, placement in a query: "pre" before the product noun, "post" after)
ATTR_FORMAT: dict[str, tuple[str, str]] = {
    "skin_type": ("for {} skin", "post"),
    "hair_type": ("for {} hair", "post"),
    "age": ("ages {}", "post"),
    "players": ("for {}", "post"),
    "play_time": ("{} play time", "post"),
    "roast": ("{} roast", "pre"),
    "tea": ("{}", "pre"),
    "comfort_temp": ("comfort {}", "post"),
    "region": ("{}", "pre"),
    "format": ("{}", "post"),
    "language": ("in {}", "post"),
    "pack": ("{}", "post"),
    "size": ("{}", "pre"),
    "author": ("by {}", "post"),
}
# boolean attributes: rendered as an adjective when True, omitted when False
BOOL_ADJ: dict[str, str] = {
    "waterproof": "waterproof",
    "noise_cancelling": "noise cancelling",
    "organic": "organic",
    "fragrance_free": "fragrance-free",
    "induction": "induction-ready",
    "dimmable": "dimmable",
}
GENDER_WORD = {"men": "men's", "women": "women's", "unisex": "unisex"}

QUALITY_ADJ_LOW = ["no-frills", "budget-friendly", "simple", "practical", "great-value"]
QUALITY_ADJ_MID = ["versatile", "reliable", "everyday", "well-made", "popular"]
QUALITY_ADJ_BOOK = ["gripping", "acclaimed", "bestselling", "much-loved", "beautifully written"]
QUALITY_ADJ_HIGH = ["premium", "flagship", "beautifully crafted", "professional-grade", "luxurious"]

# ---------------------------------------------------------------------------
# Book titles (the "model" of a book)
# ---------------------------------------------------------------------------

BOOK_ADJ = [
    "Silent",
    "Last",
    "Hidden",
    "Burning",
    "Winter",
    "Glass",
    "Forgotten",
    "Midnight",
    "Broken",
    "Golden",
    "Salt",
    "Northern",
    "Paper",
    "Crimson",
    "Quiet",
    "Wandering",
    "Lost",
    "Seventh",
    "Drowned",
    "Iron",
]
BOOK_NOUN = [
    "Harbour",
    "Orchard",
    "Witness",
    "Kingdom",
    "Garden",
    "River",
    "Lighthouse",
    "Crown",
    "Letter",
    "House",
    "Shadow",
    "Island",
    "Bridge",
    "Storm",
    "Map",
    "Archive",
    "Tide",
    "Meadow",
    "Tower",
    "Compass",
]
AUTHOR_FIRST = [
    "Mara",
    "Jonas",
    "Elena",
    "Tobias",
    "Ines",
    "Felix",
    "Nora",
    "Hugo",
    "Lena",
    "Oscar",
    "Clara",
    "Mateo",
    "Freya",
    "Luca",
    "Amelie",
    "Soren",
]
AUTHOR_LAST = [
    "Lindqvist",
    "Moreau",
    "Castell",
    "Brandt",
    "Okafor",
    "Hale",
    "Varga",
    "Rossi",
    "Keller",
    "Duarte",
    "Novak",
    "Ashford",
    "Berg",
    "Lambert",
    "Quinn",
    "Sato",
]
COOKBOOK_FRAMES = [
    "Simply {C}",
    "The {C} Table",
    "{C} Every Day",
    "Modern {C}",
    "{C} at Home",
    "A Year of {C} Cooking",
    "The Little Book of {C}",
    "{C} in 30 Minutes",
]
TRAVEL_FRAMES = [
    "{R} on Foot",
    "The {R} Guide",
    "Walking {R}",
    "{R}: The Essential Guide",
    "Hidden {R}",
    "{R} by Rail",
    "Wild {R}",
    "Pocket {R}",
]
KIDS_ANIMALS = ["Fox", "Owl", "Bear", "Hedgehog", "Dragon", "Penguin", "Mouse", "Whale"]
KIDS_FRAMES = [
    "The {A} Who Couldn't Sleep",
    "Where Is Little {A}?",
    "{A} Goes to School",
    "The Brave Little {A}",
    "Goodnight, {A}",
    "{A} and the Big Storm",
    "My First {A} Book",
]

# ---------------------------------------------------------------------------
# Shopper personas: coherent clusters of interests (tastes and vague queries)
# ---------------------------------------------------------------------------

PERSONAS: list[dict] = [
    {
        "id": "hikers",
        "leaves": ["hiking-footwear", "tents", "sleeping-bags", "travel-guides", "socks"],
        "event": ["hikers", "hiking fans", "outdoor lovers"],
        "heldout": ["someone who loves mountain walks", "a keen hillwalker"],
    },
    {
        "id": "campers",
        "leaves": ["tents", "sleeping-bags", "snacks", "cycling"],
        "event": ["campers", "a camping trip", "festival goers"],
        "heldout": ["a weekend sleeping under the stars"],
    },
    {
        "id": "coffee",
        "leaves": ["coffee-machines", "coffee-tea", "cookbooks"],
        "event": ["coffee lovers", "coffee addicts", "a barista at home"],
        "heldout": ["someone who cannot live without espresso"],
    },
    {
        "id": "cooks",
        "leaves": ["cookware", "cookbooks", "pantry", "coffee-tea"],
        "event": ["home cooks", "foodies", "a new kitchen"],
        "heldout": ["someone who loves cooking dinner for friends"],
    },
    {
        "id": "photographers",
        "leaves": ["cameras", "memory-cards", "bags", "travel-guides"],
        "event": ["photographers", "photo enthusiasts"],
        "heldout": ["a budding photographer"],
    },
    {
        "id": "runners",
        "leaves": ["sneakers", "fitness", "socks", "headphones"],
        "event": ["runners", "gym goers", "fitness fans"],
        "heldout": ["someone training for a marathon"],
    },
    {
        "id": "techies",
        "leaves": ["headphones", "phones", "phone-accessories", "cameras"],
        "event": ["tech lovers", "gadget fans", "gamers"],
        "heldout": ["a gadget-obsessed teenager"],
    },
    {
        "id": "kids",
        "leaves": ["building-sets", "board-games", "plush-toys", "puzzles", "childrens-books"],
        "event": ["kids", "toddlers", "a 6 year old"],
        "heldout": ["my nephew's birthday", "a curious preschooler"],
    },
    {
        "id": "style",
        "leaves": ["dresses", "jackets", "bags", "sneakers", "fragrance"],
        "event": ["fashion lovers", "her", "him"],
        "heldout": ["a stylish friend"],
    },
    {
        "id": "beauty",
        "leaves": ["skincare", "makeup", "fragrance", "haircare"],
        "event": ["beauty lovers", "self care", "a spa day"],
        "heldout": ["a relaxing pamper evening"],
    },
    {
        "id": "readers",
        "leaves": ["fiction", "travel-guides", "cookbooks", "childrens-books"],
        "event": ["book lovers", "readers", "a book club"],
        "heldout": ["someone who reads on every commute"],
    },
    {
        "id": "homebody",
        "leaves": ["bedding", "lighting", "coffee-machines", "fiction"],
        "event": ["a cosy home", "a new home", "the bedroom"],
        "heldout": ["a housewarming party"],
    },
    {
        "id": "cyclists",
        "leaves": ["cycling", "fitness", "jackets", "bags"],
        "event": ["cyclists", "bike commuters"],
        "heldout": ["someone who cycles to work every day"],
    },
    {
        "id": "game-night",
        "leaves": ["board-games", "puzzles", "snacks"],
        "event": ["game night", "family night"],
        "heldout": ["a rainy sunday with friends"],
    },
]

# ---------------------------------------------------------------------------
# Query frames.  Event frames and held-out frames never share a phrasing.
# ---------------------------------------------------------------------------

# browse, category level ({t} = generic term or type synonym)
BROWSE_EVENT = ["{t}", "{t} ideas", "new {t}", "{t} inspiration", "popular {t}", "{t} collection"]
BROWSE_PERSONA_EVENT = [
    "gift ideas for {p}",
    "gifts for {p}",
    "{p} essentials",
    "stuff for {p}",
    "presents for {p}",
]
BROWSE_HELDOUT = ["show me {t} options", "what {t} do you have", "help me pick {t}"]
BROWSE_PERSONA_HELDOUT = ["what should i get for {p}", "something nice for {p}"]

# review-seeking
REVIEW_EVENT = [
    "best rated {t} reviews",
    "{t} reviews",
    "top rated {t}",
    "best {t}",
    "{t} worth it",
]
REVIEW_BRAND_EVENT = ["is {b} {m} good", "{b} {m} review", "{b} {t} reviews"]
REVIEW_HELDOUT = ["which {t} do customers like most", "{t} that buyers rave about"]
REVIEW_BRAND_HELDOUT = [
    "what do buyers think of {b} {m}",
    "{b} {m} pros and cons",
    "are {b} {t} any good",
]

# buy frames: the core ("{q}": brand/model/attributes/noun) is composed in code
BUY_EVENT = ["{q}", "{q}", "{q}", "buy {q}", "{q} price"]
BUY_HELDOUT = ["looking for {q}", "i want {q}", "need {q} asap"]
PRICE_EVENT = "{q} under {n}"
PRICE_HELDOUT = "{q} below {n} euros"

# ---------------------------------------------------------------------------
# Reviews: sentiment templates.  Cue words are used by the tests to check that
# the text agrees with the rating.
# ---------------------------------------------------------------------------

REVIEW_TEMPLATES: dict[int, list[str]] = {
    5: [
        "Absolutely love {this} {t}! The {a1} is excellent and the {a2} exceeded my expectations.",
        "Five stars. Fantastic {a1} and superb {a2}, I would buy it again.",
        "Best {t} I have owned: the {a1} is brilliant.",
        "Perfect {t}. The {a1} is excellent and delivery was quick.",
    ],
    4: [
        "Very happy with {this} {t}. The {a1} is great; only the {a2} could be slightly better.",
        "Great {a1} and a solid {a2}. Recommended.",
        "Happy with the purchase: the {a1} is great for {u}.",
    ],
    3: [
        "It's okay. The {a1} is decent but the {a2} is just average.",
        "Does the job for the price. The {a1} is fine, the {a2} is nothing special.",
        "Mixed feelings: the {a1} is decent, but the {a2} is mediocre.",
        "Average {t} overall. The {a1} is okay for {u}.",
    ],
    2: [
        "Disappointed. The {a1} is poor and the {a2} is below average.",
        "The {a1} let me down after a couple of weeks. Disappointed with {this} {t}.",
        "Poor {a1} for the price, and the {a2} feels flimsy.",
    ],
    1: [
        "Terrible {t}. The {a1} is awful and the seams broke within days. Returned the order.",
        "Worst purchase in a while: the {a1} is bad and the {a2} is even worse.",
        "Awful. The {a1} is poor and the {a2} is bad. Returned the order for a refund.",
    ],
}
REVIEW_EXTRA: dict[str, list[str]] = {
    "positive": ["Shipping was quick too.", "Would recommend it to friends.", ""],
    "neutral": ["Delivery was fine.", "", ""],
    "negative": ["Customer service was unhelpful.", "Would not buy again.", ""],
}
POSITIVE_CUES = {
    "love",
    "excellent",
    "fantastic",
    "superb",
    "brilliant",
    "perfect",
    "great",
    "recommended",
    "recommend",
    "happy",
}
NEGATIVE_CUES = {
    "disappointed",
    "poor",
    "terrible",
    "awful",
    "worst",
    "broke",
    "returned",
    "bad",
    "worse",
    "flimsy",
    "unhelpful",
}
NEUTRAL_CUES = {"okay", "decent", "average", "fine", "mixed", "mediocre", "nothing special"}

COUNTRIES = [
    ("DE", 24),
    ("FR", 18),
    ("NL", 10),
    ("ES", 12),
    ("IT", 12),
    ("BE", 6),
    ("AT", 5),
    ("IE", 4),
    ("PT", 4),
    ("FI", 3),
    ("SE", 2),
]
SEGMENTS = [("bargain", 0.3, 0.2), ("mainstream", 0.5, 0.5), ("premium", 0.2, 0.8)]
# relative activity by hour of day (UTC)
HOUR_WEIGHTS = [
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.8,
    1.5,
    2.0,
    2.2,
    2.3,
    2.5,
    3.0,
    2.8,
    2.5,
    2.5,
    2.7,
    3.0,
    3.5,
    4.2,
    4.6,
    4.2,
    3.0,
    1.8,
]
