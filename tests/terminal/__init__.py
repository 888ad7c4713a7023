"""The real command in a real terminal (tmux): how it ends, and what it leaves."""
