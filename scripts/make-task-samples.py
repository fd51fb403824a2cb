#!/usr/bin/env python3
"""Writes the tiny NER / SQuAD / SWAG sample files under samples/ (synthetic template sentences, fixed seed).

Run from the repository root: python3 scripts/make-task-samples.py
"""
import csv
import json
import random

rng = random.Random(2024)
PEOPLE = [("Anna", "Berg"), ("Tom", "Walker"), ("Maria", "Lopez"), ("James", "Chen"), ("Laura", "Smith"),
          ("David", "Brown"), ("Sofia", "Rossi"), ("Peter", "Novak"), ("Emma", "Wilson"), ("Lucas", "Martin")]
PLACES = ["Paris", "Berlin", "London", "Madrid", "Boston", "Vienna", "Oslo", "Chicago", "Dublin", "Rome"]
ORGS = [["Acme"], ["Reuters"], ["Google"], ["the", "United", "Nations"], ["Oxford", "University"], ["Ford"]]
MISC = ["German", "French", "Olympic", "English", "Italian"]


def person():
    first, last = rng.choice(PEOPLE)
    return [first, last] if rng.random() < 0.6 else [first]


def tag(words, kind):
    return [("B-" if i == 0 else "I-") + kind for i in range(len(words))]


def ner_sentence():
    p = person()
    place = [rng.choice(PLACES)]
    org = rng.choice(ORGS)
    misc = [rng.choice(MISC)]
    templates = [
        [(p, "PER"), (["visited"], None), (place, "LOC"), (["last", "week", "."], None)],
        [(p, "PER"), (["joined"], None), (org, "ORG"), (["in"], None), (place, "LOC"), (["."], None)],
        [(["The"], None), (misc, "MISC"), (["team", "met"], None), (p, "PER"), (["in"], None), (place, "LOC"), (["."], None)],
        [(org, "ORG"), (["said"], None), (p, "PER"), (["will", "speak", "on", "Monday", "."], None)],
        [(["A"], None), (misc, "MISC"), (["writer", "moved", "from"], None), (place, "LOC"), (["to"], None), ([rng.choice(PLACES)], "LOC"), (["."], None)],
    ]
    words, tags = [], []
    for part, kind in rng.choice(templates):
        words += part
        tags += tag(part, kind) if kind else ["O"] * len(part)
    return words, tags


def write_conll(path, n):
    with open(path, "w") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for _ in range(n):
            words, tags = ner_sentence()
            for w, t in zip(words, tags):
                f.write(f"{w} _ _ {t}\n")
            f.write("\n")


def write_ner_jsonl(path, n):
    with open(path, "w") as f:
        for _ in range(n):
            words, tags = ner_sentence()
            f.write(json.dumps({"tokens": words, "ner_tags": tags}) + "\n")


SUBJECTS = ["physics", "music", "law", "medicine", "history", "chemistry"]
JOBS = ["teacher", "doctor", "journalist", "engineer", "painter", "pilot"]


def squad(n_paragraphs, prefix):
    paragraphs = []
    for k in range(n_paragraphs):
        first, last = rng.choice(PEOPLE)
        name = f"{first} {last}"
        city, city2 = rng.sample(PLACES, 2)
        year = str(rng.randint(1900, 1999))
        subject, job = rng.choice(SUBJECTS), rng.choice(JOBS)
        context = (f"{name} was born in {city} in {year}. {first} studied {subject} at the university of {city2} "
                   f"and later worked as a {job} for many years.")
        qas = []
        for q, a in [(f"Where was {first} born?", city), (f"What did {first} study?", subject),
                     (f"When was {name} born?", year), (f"What was {first}'s job?", job)]:
            qas.append({"id": f"{prefix}{k}-{len(qas)}", "question": q, "is_impossible": False,
                        "answers": [{"text": a, "answer_start": context.index(a)}]})
        qas.append({"id": f"{prefix}{k}-{len(qas)}", "question": f"Where did {first} die?", "is_impossible": True, "answers": []})
        paragraphs.append({"context": context, "qas": qas})
    return {"version": "v2.0", "data": [{"title": "people", "paragraphs": paragraphs}]}


SCENES = [
    ("She opens the fridge.", "She", "takes out a bottle of milk."),
    ("A man stands at the sink with a dirty plate.", "He", "washes the plate with soap."),
    ("The boy kicks the ball toward the goal.", "The ball", "flies past the goalkeeper into the net."),
    ("A woman sits down at the piano.", "She", "starts to play a slow song."),
    ("The chef cracks two eggs into a bowl.", "He", "whisks them with a fork."),
    ("Rain begins to fall on the street.", "People", "open their umbrellas and walk faster."),
    ("A girl climbs onto her bicycle.", "She", "pedals down the road."),
    ("The dog sees a ball in the grass.", "The dog", "runs over and picks it up."),
    ("A student opens a heavy book.", "He", "reads the first page carefully."),
    ("The baby starts to cry.", "Her father", "picks her up and rocks her gently."),
]


def swag(path, n):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video-id", "sent1", "sent2", "ending0", "ending1", "ending2", "ending3", "label"])
        for i in range(n):
            s1, s2, right = rng.choice(SCENES)
            wrong = rng.sample([e for _, _, e in SCENES if e != right], 3)
            label = rng.randrange(4)
            endings = wrong[:label] + [right] + wrong[label:]
            w.writerow([f"sample{i}", s1, s2, *endings, label])


write_conll("samples/ner/train.conll", 80)
write_conll("samples/ner/dev.conll", 20)
write_ner_jsonl("samples/ner/dev.jsonl", 10)
with open("samples/squad/train.json", "w") as f:
    json.dump(squad(16, "t"), f, indent=1)
with open("samples/squad/dev.json", "w") as f:
    json.dump(squad(5, "d"), f, indent=1)
swag("samples/swag/train.csv", 60)
swag("samples/swag/dev.csv", 20)
