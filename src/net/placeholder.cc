// Placeholder so the module target exists before its first source lands; delete when one does.
