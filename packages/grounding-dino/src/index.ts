// The public surface of @vitkit/grounding-dino is filled in as its parts land (see issue 16).
export {};
