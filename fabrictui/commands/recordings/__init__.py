"""The commands about recordings (`record`, `replay`, `report`): they write or read a
session's recording rather than probe a lab's paths, and share its file formats."""
