"""Pure model -> rows and text, drawn by ui/ and written by report/. No Textual, no I/O."""
