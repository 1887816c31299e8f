def test_help_lists_catalogue(scs):
    result = scs("--help")
    assert result.exit_code == 0
    assert "catalogue" in result.stdout
