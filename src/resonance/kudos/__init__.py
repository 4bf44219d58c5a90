"""Kudos and helpfulness votes: the operations (give, vote), their rules, signed one-click links,
chat commands, context resolution and the "where you shine" read-out. See docs/kudos.md."""
