"""(package for a later issue; see DESIGN.md)"""
