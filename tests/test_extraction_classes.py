"""Failure classes found by the blind held-out gold set (tests/fixtures/gold_val2017_heldout/),
each shown on OTHER real captions of the same kind.

The held-out misses are symptoms; these tests pin the class. Every caption below is a real COCO
val2017 caption (CC BY 4.0, verbatim, annotation id in the comment) that is in neither gold
folder; where val2017 holds captions with an odd ``image_id`` they were preferred, because the
blind gold sets are drawn among even image ids. Captions marked "constructed" stand where
val2017 holds no other caption of the class. Expected pairs and texts were judged by hand with
the conventions of tests/fixtures/gold_val2017/README.md (pairs ``colours>head``, canonical
colour names, the object's head lower-cased; sparse removes every colour word with its
modifiers, joiners and copula and keeps every other word verbatim).
"""

from __future__ import annotations

import pytest

from lcad_bench.text.levels import controlled_levels, validate


def pairs(analysis) -> list[str]:
    return sorted(
        f"{','.join(p.canonical)}>{p.object.head.lower() if p.object else '?'}"
        for p in analysis.phrases
        if not p.nonhue
    )


def want(spec: str) -> list[str]:
    return sorted(x.strip() for x in spec.split(";")) if spec != "-" else []


# (caption, pairs or None when not the point, sparse text)
CLASSES = {
    # a degree word before a colour goes with it ("an all white kitchen" -> "a kitchen"), and
    # "in all white" after a person is a garment colour
    "degree_words": [
        (
            "An all white painted kitchen with a ceiling fan.",
            "white>kitchen",  # 46879
            "A painted kitchen with a ceiling fan.",
        ),
        (
            "An all white bathroom consisting of a mirror and sink view.",
            "white>bathroom",  # 566884
            "A bathroom consisting of a mirror and sink view.",
        ),
        (
            "A large, totally black horse standing in a field.",
            "black>horse",  # 164989
            "A large horse standing in a field.",
        ),
        (
            "A zebra with a striped face and pure white neck and mane.",
            "white>neck",  # 10508
            "A zebra with a face and neck and mane.",
        ),
        (
            "A man playing tennis on a red coat in all white.",
            "red>coat; white>man",  # 91825
            "A man playing tennis on a coat in clothes.",
        ),
    ],
    # a colour after its noun, ending the clause or coordinated with other adjectives: the
    # noun's colour; the joiner to the next adjective goes with it
    "postnominal_colour": [
        (
            "A woman with a stick hitting something red and blurry in the air indoors.",  # 140704
            "red>something",
            "A woman with a stick hitting something blurry in the air indoors.",
        ),
        (
            "This is a blurry image of a man looking at something yellow and roundish.",  # 453324
            "yellow>something",
            "This is a blurry image of a man looking at something roundish.",
        ),
        (
            "a sandwich that has something green and red in it",
            "green,red>something",  # 639272
            "a sandwich that has something in it",
        ),
        (
            "a white sheep against a colored background orange blue purple and yellow",  # 443531
            "white>sheep; orange,blue,purple,yellow>background",
            "a sheep against a background",
        ),
        # the post-predicate case keeps working
        (
            "The bathroom is white and looks very clean.",
            "white>bathroom",  # 218449
            "The bathroom looks very clean.",
        ),
    ],
    # colour nouns: "X tone", "X colored", "in X color" go whole with their colour
    "colour_nouns": [
        (
            "Hotel room scene, efficiency, queen bed, sofa, table/desk, TV, in brown tone room.",
            "brown>room",  # 127684
            "Hotel room scene, efficiency, queen bed, sofa, table/desk, TV, in room.",
        ),
        (
            "A shiny metallic refrigerator in a brown colored kitchen.",
            "brown>kitchen",  # 172959
            "A shiny metallic refrigerator in a kitchen.",
        ),
        (
            "A white toilet with a black colored seat.",
            "white>toilet; black>seat",  # 318817
            "A toilet with a seat.",
        ),
        (
            "A brown colored cat is on top of a tall gray cabinet.",  # 745373
            "brown>cat; gray>cabinet",
            "A cat is on top of a tall cabinet.",
        ),
        (
            "The chair, the bed, and the curtain are the same shade of blue.",
            None,  # 65405
            "The chair, the bed, and the curtain.",
        ),
    ],
    # black and white describing the picture: photo words (portrait, photos, selfie, ...) and
    # "in black and white" closing a clause without a person or a colouring verb
    "photo_senses": [
        ("A black and white portrait of a male.", "-", "A portrait of a male."),  # 658990
        (
            "A vintage black and white portrait of a baseball player.",
            "-",  # 383331
            "A vintage portrait of a baseball player.",
        ),
        (
            "A black and white photos of a man leaning on a street sign in a neighborhood. ",
            "-",  # 468776
            "A photos of a man leaning on a street sign in a neighborhood.",
        ),
        (
            "An old man walking down a sidewalk in black and white.",
            "-",  # 464702
            "An old man walking down a sidewalk.",
        ),
        ("Three zebras eat hay in black and white.", "-", "Three zebras eat hay."),  # 555553
        # constructed: the photo noun elided ("black and white [photo] of ...")
        ("A black and white of a man sitting on a bench.", "-", "A man sitting on a bench."),
        # not the picture: a colouring verb, a person
        (
            "A bathroom decorated in black and white. ",
            "black,white>bathroom",  # 406557
            "A bathroom.",
        ),
        (
            "A man in black carrying a sheep on his shoulders.",
            "black>man",  # 51224
            "A man in clothes carrying a sheep on his shoulders.",
        ),
    ],
    # a hyphenated word is one word: "t-shirt" is the head; a word glued to a colour by a
    # hyphen goes with it ("green-eyed", "white-clad"); before a noun only the colour goes
    # ("red-brick wall" -> "brick wall")
    "hyphen_compounds": [
        (
            "A somber woman in a pink T-shirt raises a torch.",
            "pink>t-shirt",  # 439692
            "A somber woman in a T-shirt raises a torch.",
        ),
        (
            "A boy in an orange t-shirt plays a video game.",
            "orange>t-shirt",  # 297643
            "A boy in a t-shirt plays a video game.",
        ),
        (
            "A man performs a skateboarding trip on a pink half-pipe.",
            "pink>half-pipe",  # 616258
            "A man performs a skateboarding trip on a half-pipe.",
        ),
        (
            "A green-eyed tabby cat lies on a sunny window ledge",
            "green>cat",  # 392335
            "A tabby cat lies on a sunny window ledge",
        ),
        (
            "A white-clad tennis player hurls a ball upward to deliver a serve.",  # 663002
            "white>player",
            "A tennis player hurls a ball upward to deliver a serve.",
        ),
        (
            "A red-shirted team playing a game of baseball.",
            "red>team",  # 250831
            "A team playing a game of baseball.",
        ),
        (
            "A red-brick wall with a gray bench in a lush green space.",  # 65333
            "red>wall; gray>bench; green>space",
            "A brick wall with a bench in a lush space.",
        ),
        (
            "Thin-striped zebras huddle near the wall of their zoo enclosure",
            "-",  # 101561
            "Zebras huddle near the wall of their zoo enclosure",
        ),
        (
            "The end of a computer keyboard and a blue-illuminated black wireless mouse sit on a "
            "table. ",
            None,  # 534832
            "The end of a computer keyboard and a wireless mouse sit on a table.",
        ),
    ],
    # a colour with other adjectives or non-hue words before its noun ("burgundy and floral
    # furniture", "black and white spotted cows"): the noun after them
    "adjectives_before_the_noun": [
        (
            "A group of black and white spotted cows in green grass.",  # 709013
            "black,white>cows; green>grass",
            "A group of cows in grass.",
        ),
        (
            "Handicapped restroom with open toilet and black and white spotted floor.",  # 195091
            "black,white>floor",
            "Handicapped restroom with open toilet and floor.",
        ),
        (
            "A man in a red hat, suit, and blue striped tie walks past two other men on a street.",
            "red>hat; blue>tie",  # 657362
            "A man in a hat, suit, and tie walks past two other men on a street.",
        ),
        (
            "A bathroom with blue walls, black and white checkered floor, toilet, urinal and "
            "bathtub.",
            "blue>walls; black,white>floor",  # 557260
            "A bathroom with walls, floor, toilet, urinal and bathtub.",
        ),
        (
            "a grey striped cat sitting on top of a toilet",
            "gray>cat",  # 797678
            "a cat sitting on top of a toilet",
        ),
    ],
    # quantity / kind nouns: "a white piece of cake" is the cake's colour
    "quantity_nouns": [
        (
            "A blue piece of luggage sitting up against the side of a building.",  # 222244
            "blue>luggage",
            "A piece of luggage sitting up against the side of a building.",
        ),
        (
            "A white piece of cake sitting on top of a plate.",
            "white>cake",  # 307146
            "A piece of cake sitting on top of a plate.",
        ),
        (
            "a pepperoni pizza laying on a white piece of parchment paper",
            "white>paper",  # 73511
            "a pepperoni pizza laying on a piece of parchment paper",
        ),
        (
            "A person laying crushed underneath a black piece of luggage.",
            "black>luggage",
            "A person laying crushed underneath a piece of luggage.",
        ),  # 622366
    ],
    # food senses: a colour word with a food sense in a list of nouns, or as the flavour of a
    # food, is the food
    "food_senses": [
        (
            "A pear, orange, and two bananas in a wooden bowl.",
            "-",  # 627537
            "A pear, orange, and two bananas in a wooden bowl.",
        ),
        (
            "a bowl with a mango, orange, and banana in it",
            "-",  # 634851
            "a bowl with a mango, orange, and banana in it",
        ),
        (
            "A bowl full of marshmallows, chocolate, and other delicious treats.",
            "-",  # 384400
            "A bowl full of marshmallows, chocolate, and other delicious treats.",
        ),
        (
            "A blender, lime, salt, and tequila on a counter.",
            "-",  # 728843
            "A blender, lime, salt, and tequila on a counter.",
        ),
        (
            "A meal of fried food, beans, rice, cream and fruit.",
            "-",  # 414930
            "A meal of fried food, beans, rice, cream and fruit.",
        ),
        (
            "The box contains six donuts, but only two are chocolate covered.",
            "-",  # 725372
            "The box contains six donuts, but only two are chocolate covered.",
        ),
        # constructed (val2017 holds no other flavour predicate)
        (
            "A plate of donuts, two are chocolate and one is pink.",
            "pink>one",
            "A plate of donuts, two are chocolate.",
        ),
        # a colour list stays a colour list
        (
            "a white sheep against a colored background orange blue purple and yellow",  # 443531
            "white>sheep; orange,blue,purple,yellow>background",
            "a sheep against a background",
        ),
    ],
    # elided nouns and bare pronouns: "a yellow and a green motorcycle"; "one is black" and
    # "the other brown" carry nothing without their colour: the clause goes
    "elided_nouns": [
        (
            "A yellow and a green motorcycle in the back of an auditorium.",  # 335173
            "yellow>motorcycle; green>motorcycle",
            "A motorcycle in the back of an auditorium.",
        ),
        (
            "there is a white and a red bus that is stopped on this street",  # 305639
            "white>bus; red>bus",
            "there is a bus that is stopped on this street",
        ),
        (
            "two street signs one is green and white the other brown and white",  # 98243
            "green,white>one; brown,white>one",
            "two street signs",
        ),
        (
            "Several sheep standing in a barn, one is black",
            "black>one",  # 357594
            "Several sheep standing in a barn",
        ),
        (
            "a refrigerator with four plastic bottles and one is dark blue",
            "blue>one",  # 36756
            "a refrigerator with four plastic bottles",
        ),
        # constructed (val2017 holds no other caption with a number after the elided noun)
        (
            "A blue and three white boats in a harbor.",
            "blue>boats; white>boats",
            "Boats in a harbor.",
        ),
    ],
    # capitalised names are not colours; capitalised colours before a noun still are
    "names": [
        (
            "Street traffic, view of an Alamo Bus, a Gold Coast Tour bus and several cars.",
            "-",
            # 58389
            "Street traffic, view of an Alamo Bus, a Gold Coast Tour bus and several cars.",
        ),
        (
            "A Boston Red Sox pitcher standing on the mound",
            "-",  # 18630
            "A Boston Red Sox pitcher standing on the mound",
        ),
        (
            "An Orange bus is parked next to the people. ",
            "orange>bus",  # 454277
            "A bus is parked next to the people.",
        ),
        (
            "Blue and yellow train at a train station in front of a bench. ",  # 427762
            "blue,yellow>train",
            "Train at a train station in front of a bench.",
        ),
    ],
    # "an" typed for "and" between colours; all-capitals captions keep their case; a
    # caption's double spaces do not change what is read
    "typing": [
        (
            "A yellow an red colored train that is approaching a pickup/drop off point.",  # 457554
            "yellow,red>train",
            "A train that is approaching a pickup/drop off point.",
        ),
        (
            "A BLACK CAT POSING IN FRONT OF MOTORCYLE",
            "black>cat",  # 82805
            "A CAT POSING IN FRONT OF MOTORCYLE",
        ),
        (
            "YELLOW AND BROWN TRAIN ON THE TRACKS LOOKS IT HAS EYES",
            "yellow,brown>train",
            "TRAIN ON THE TRACKS LOOKS IT HAS EYES",
        ),  # 751949
        (
            "A MAN IS STANDING IN HIS KITCHEN HOLDING A YELLOW KITE",
            "yellow>kite",  # 599538
            "A MAN IS STANDING IN HIS KITCHEN HOLDING A KITE",
        ),
        # constructed: the article and the garment word keep the capitals
        (
            "A GIRL DRESSED IN BLUE HOLDING A RED UMBRELLA",
            "blue>girl; red>umbrella",
            "A GIRL DRESSED IN CLOTHES HOLDING AN UMBRELLA",
        ),
        (
            "A dark  colored poodle is tied to a post on a sidewalk.",
            "-",  # 37161
            "A poodle is tied to a post on a sidewalk.",
        ),
        (
            "A. clear vase containing bouquet of pink with white tipped  tulips ",  # 185262
            "pink>bouquet; white>tulips",
            "A. clear vase containing bouquet with tipped  tulips",
        ),
        (
            "A table with a plate, wine-filled glass, and bread, among other items",
            "-",
            "A table with a plate, wine-filled glass, and bread, among other items",
        ),  # 348170
        # constructed: a removal at the edge of a quotation keeps the quotes tight
        (
            'A sign that says "big red barn" on a fence.',
            "red>barn",
            'A sign that says "big barn" on a fence.',
        ),
        (
            'A laptop showing the "red screen" error.',
            "red>screen",
            'A laptop showing the "screen" error.',
        ),
    ],
}
CASES = [(cls, *case) for cls, cases in CLASSES.items() for case in cases]


@pytest.mark.parametrize(
    "cls,caption,pair_spec,sparse", CASES, ids=[f"{c[0]}:{c[1][:30]}" for c in CASES]
)
def test_class_cases(extractor, cls, caption, pair_spec, sparse):
    a = extractor.analyse(caption)
    if pair_spec is not None:
        assert pairs(a) == want(pair_spec)
    d = controlled_levels(a, pair_id="t")
    assert not d.problems, d.problems
    if sparse is not None:
        assert d.sparse == sparse


def test_every_class_has_three_real_captions():
    for cls, cases in CLASSES.items():
        assert len(cases) >= 3, cls


def test_photo_sense_sets_the_flag(extractor):
    for text in (
        "A black and white portrait of a male.",
        "Three zebras eat hay in black and white.",
    ):
        assert extractor.analyse(text).bw_photo_mention
    assert not extractor.analyse("A bathroom decorated in black and white.").bw_photo_mention


def test_elided_noun_before_a_number_partial_keeps_the_number(extractor):
    # constructed: keeping blue, "three" still counts the white boats; keeping white, the
    # first colour goes with its article and joiner
    a = extractor.analyse("A blue and three white boats in a harbor.")
    texts = {controlled_levels(a, pair_id=f"p{i}").partial for i in range(30)}
    assert texts == {"A blue and three boats in a harbor.", "Three white boats in a harbor."}


def test_bare_one_clause_partial(extractor):
    a = extractor.analyse("two street signs one is green and white the other brown and white")
    texts = {controlled_levels(a, pair_id=f"p{i}").partial for i in range(30)}
    assert "two street signs one is green and white" in texts


def test_garment_compound_is_a_garment_phrase(extractor):
    (p,) = extractor.extract("A white-clad tennis player hurls a ball upward to deliver a serve.")
    assert p.garment and p.object.head == "player" and p.replacement == ""


# --------------------------------------------------------------------------------------------
# the validator: each class of broken text it must catch (original, broken text as a rewrite
# could produce it). Most broken texts here are what earlier versions emitted for these
# captions.

BROKEN = [
    # a conjunction that lost its conjunct
    ("A woman with a stick hitting something red and blurry in the air indoors.",
     "A woman with a stick hitting something and blurry in the air indoors.", "conjunct"),
    ("Three cows two black and one brown grazing in a green field.",
     "Three cows two and one grazing in a field.", "conjunct"),
    ("This is a blurry image of a man looking at something yellow and roundish.",
     "This is a blurry image of a man looking at something and roundish.", "conjunct"),
    # a preposition removed before its object (meaning change)
    ("A shiny metallic refrigerator in a brown colored kitchen.",
     "A shiny metallic refrigerator kitchen.", "preposition"),
    ("A group of black and white spotted cows in green grass.",
     "A group cows in grass.", "preposition"),
    # an article or joiner left between two removals
    ("A yellow an red colored train that is approaching a pickup/drop off point.",
     "A an train that is approaching a pickup/drop off point.", "article"),
    ("a white sheep against a colored background orange blue purple and yellow",
     "a sheep against a background orange and", "conjunction"),
    # a degree word or modifier left behind
    ("An all white painted kitchen with a ceiling fan.",
     "An all painted kitchen with a ceiling fan.", "modifier"),
    ("A large, totally black horse standing in a field.",
     "A large, totally horse standing in a field.", "modifier"),
    ("A dark  colored poodle is tied to a post on a sidewalk.",
     "A dark poodle is tied to a post on a sidewalk.", "modifier"),
    # a colour noun left without its colour
    ("Hotel room scene, efficiency, queen bed, sofa, table/desk, TV, in brown tone room.",
     "Hotel room scene, efficiency, queen bed, sofa, table/desk, TV, in tone room.", "colour noun"),
    ("The chair, the bed, and the curtain are the same shade of blue.",
     "The chair, the bed, and the curtain are the same shade of.", "preposition"),
    # an orphan hyphen
    ("A green-eyed tabby cat lies on a sunny window ledge",
     "A -eyed tabby cat lies on a sunny window ledge", "hyphen"),
    ("An all-white bathroom with a light fixture and small mirror above a sink",
     "An all- bathroom with a light fixture and small mirror above a sink", "hyphen"),
    # a bare subject left without its predicate
    ("Several sheep standing in a barn, one is black",
     "Several sheep standing in a barn, one", "subject"),
    ("A zebra that only has a striped neck and face, the rest of it is white.",
     "A zebra that only has a neck and face, the rest of it.", "subject"),
    # an article before a verb form
    ("A traffic signal with a red having lights.", "A traffic signal with a having lights.",
     "article"),  # constructed
    # the case pattern of an all-capitals caption; a space inside quotes
    ("A MAN IS STANDING IN HIS KITCHEN HOLDING A YELLOW KITE",
     "A MAN IS STANDING IN HIS KITCHEN HOLDING A kite", "case"),
    ("A GIRL HOLDING A RED UMBRELLA", "A GIRL HOLDING An UMBRELLA", "case"),  # constructed
    ('A girl making a "peace sign" with her hand and a woman holding a big black suitcase.',
     'A girl making a " sign" with her hand and a woman holding a big suitcase.', "quotes"),
]  # fmt: skip


@pytest.mark.parametrize("original,text,kind", BROKEN, ids=[b[1][:40] for b in BROKEN])
def test_validator_catches_broken_texts(original, text, kind):
    problems = validate(original, text)
    assert problems, f"{text!r} passed the validator"
    assert any(kind in p for p in problems), problems


GOOD = [
    ("A woman with a stick hitting something red and blurry in the air indoors.",
     "A woman with a stick hitting something blurry in the air indoors."),
    ("A large clock tower is yellow and white.", "A large clock tower."),
    ("A green-eyed tabby cat lies on a sunny window ledge",
     "A tabby cat lies on a sunny window ledge"),
    ("A red-brick wall with a gray bench in a lush green space.",
     "A brick wall with a bench in a lush space."),
    ("two street signs one is green and white the other brown and white", "two street signs"),
    ("A man in a red hat, suit, and blue striped tie walks past two other men on a street.",
     "A man in a hat, suit, and tie walks past two other men on a street."),
    ("A bathroom decorated in black and white. ", "A bathroom."),
    ("Three zebras eat hay in black and white.", "Three zebras eat hay."),
    # constructed: a lamp's shade, a number after an article, quotes kept tight
    ("A lamp with a red shade.", "A lamp with a shade."),
    ("A red two story house.", "A two story house."),
    ('A sign that says "big red barn" on a fence.', 'A sign that says "big barn" on a fence.'),
    ("A GIRL DRESSED IN BLUE HOLDING A RED UMBRELLA",
     "A GIRL DRESSED IN CLOTHES HOLDING AN UMBRELLA"),
]  # fmt: skip


@pytest.mark.parametrize("original,text", GOOD, ids=[g[1][:40] for g in GOOD])
def test_validator_passes_good_texts(original, text):
    assert validate(original, text, allowed_colour_words=0) == []
