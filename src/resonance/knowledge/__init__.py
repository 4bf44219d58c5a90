"""Knowledge and network value: who knows what, who needs it, and who helped.

- `corpus`: contributions (what people shared) and the appreciation others gave them,
  read from the canonical tables as of a date.
- `expertise`: per-person topic profiles with their evidence.
- `experts`: expert finding for a question, optionally personalised for the asker.
- `graph`: the person graph (who interacts with whom) and trusted paths.
- `demand`: "who needs what I know, and when" — opportunities to help.
- `introductions`: warm introductions to external contacts and accounts.
- `outcomes`: credit for won deals (business influence).
- `embeddings`: optional semantic embeddings (`pip install 'resonance[embeddings]'`).

Algorithms here only read the store; nothing in this package writes people's data.
"""
